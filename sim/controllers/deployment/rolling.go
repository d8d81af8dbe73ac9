package deployment

import (
	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling is one step of a RollingUpdate: scale the new ReplicaSet up within
// maxSurge, else scale old ones down within maxUnavailable (unavailable pods first), else,
// when the rollout is complete, prune the history; then write the status.
func (c *Controller) rolloutRolling(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.allReplicaSets(d, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	up, err := c.reconcileNewRS(all, newRS, d)
	if err != nil {
		return err
	}
	if up {
		return c.syncRolloutStatus(all, newRS, d)
	}
	down, err := c.reconcileOldRSs(all, active(old), newRS, d)
	if err != nil {
		return err
	}
	if down {
		return c.syncRolloutStatus(all, newRS, d)
	}
	if complete(d, &d.Status) {
		if err := c.cleanupDeployment(old, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(all, newRS, d)
}

// reconcileNewRS scales the new ReplicaSet towards the Deployment's replicas.
func (c *Controller) reconcileNewRS(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	want, cur := replicas(d.Spec.Replicas), replicas(newRS.Spec.Replicas)
	switch {
	case cur == want:
		return false, nil
	case cur > want:
		return c.scaleRS(d, newRS, want)
	}
	return c.scaleRS(d, newRS, newRSReplicas(d, all, newRS))
}

// reconcileOldRSs scales old ReplicaSets down as far as maxUnavailable allows.
func (c *Controller) reconcileOldRSs(all, old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if specReplicas(old...) == 0 {
		return false, nil
	}
	minAvailable := replicas(d.Spec.Replicas) - maxUnavailable(d)
	newUnavailable := replicas(newRS.Spec.Replicas) - newRS.Status.AvailableReplicas
	maxScaledDown := specReplicas(all...) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	cleaned, err := c.cleanupUnhealthyReplicas(old, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	scaled, err := c.scaleDownOldForRollingUpdate(append(append([]*appsv1.ReplicaSet(nil), old...), newRS), old, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaled > 0, nil
}

// cleanupUnhealthyReplicas scales old ReplicaSets down by their unavailable pods first,
// oldest first, at most maxCleanup in all: those pods cost no availability.
func (c *Controller) cleanupUnhealthyReplicas(old []*appsv1.ReplicaSet, d *appsv1.Deployment, maxCleanup int32) (int32, error) {
	byCreation(old)
	var total int32
	for _, rs := range old {
		if total >= maxCleanup {
			break
		}
		n := replicas(rs.Spec.Replicas)
		if n == 0 || n == rs.Status.AvailableReplicas {
			continue
		}
		down := min(maxCleanup-total, n-rs.Status.AvailableReplicas)
		if down <= 0 { // more available than wanted: nothing unhealthy to remove
			continue
		}
		if _, err := c.scaleRS(d, rs, n-down); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}

// scaleDownOldForRollingUpdate scales old ReplicaSets down, oldest first, while
// replicas - maxUnavailable pods stay available.
func (c *Controller) scaleDownOldForRollingUpdate(all, old []*appsv1.ReplicaSet, d *appsv1.Deployment) (int32, error) {
	minAvailable := replicas(d.Spec.Replicas) - maxUnavailable(d)
	avail := statusSum(all, statusAvailable)
	if avail <= minAvailable {
		return 0, nil
	}
	byCreation(old)
	budget := avail - minAvailable
	var total int32
	for _, rs := range old {
		if total >= budget {
			break
		}
		n := replicas(rs.Spec.Replicas)
		if n == 0 {
			continue
		}
		down := min(n, budget-total)
		if _, err := c.scaleRS(d, rs, n-down); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}
