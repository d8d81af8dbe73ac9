package deployment

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// isScalingEvent reports whether the Deployment's replicas differ from those an active
// ReplicaSet was last scaled for (its desired-replicas annotation).
func (c *Controller) isScalingEvent(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, old, err := c.allReplicaSets(d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range active(append(old, newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicas(d.Spec.Replicas) {
			return true, nil
		}
	}
	return false, nil
}

// syncScale reconciles a scaling event or a paused Deployment: scale, prune history,
// write the status (upstream's sync).
func (c *Controller) syncScale(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.allReplicaSets(d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(d, newRS, old); err != nil {
		return err
	}
	if d.Spec.Paused && getRollbackTo(d) == nil {
		if err := c.cleanupDeployment(old, d); err != nil {
			return err
		}
	}
	return c.syncDeploymentStatus(append(old, newRS), newRS, d)
}

// activeOrLatest returns the only active ReplicaSet, or the newest one when none is
// active, or nil when several are.
func activeOrLatest(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(old) == 0 {
		return nil
	}
	newestFirst := append([]*appsv1.ReplicaSet(nil), old...)
	byCreation(newestFirst)
	for i, j := 0, len(newestFirst)-1; i < j; i, j = i+1, j-1 {
		newestFirst[i], newestFirst[j] = newestFirst[j], newestFirst[i]
	}
	act := active(append(newestFirst, newRS))
	switch len(act) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return newestFirst[0]
	case 1:
		return act[0]
	}
	return nil
}

// saturated reports whether the new ReplicaSet runs all replicas, available, for the
// Deployment's current size.
func saturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	want := replicas(d.Spec.Replicas)
	return ok && replicas(rs.Spec.Replicas) == want && desired == want && rs.Status.AvailableReplicas == want
}

// scale resizes the ReplicaSets to the Deployment's replicas: the one active ReplicaSet
// takes them all; a saturated new ReplicaSet sends the old ones to zero; during a rolling
// update the difference is spread over the active ReplicaSets in proportion to their size
// (larger first, leftovers to the largest), as upstream's proportional scaling.
func (c *Controller) scale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	want := replicas(d.Spec.Replicas)
	if rs := activeOrLatest(newRS, old); rs != nil {
		_, err := c.scaleRS(d, rs, want)
		return err
	}
	if saturated(d, newRS) {
		for _, rs := range active(old) {
			if _, err := c.scaleRS(d, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRolling(d) {
		return nil
	}
	all := active(append(append([]*appsv1.ReplicaSet(nil), old...), newRS))
	allowed := int32(0)
	if want > 0 {
		allowed = want + maxSurge(d)
	}
	toAdd := allowed - specReplicas(all...)
	switch {
	case toAdd > 0:
		bySize(all, true)
	case toAdd < 0:
		bySize(all, false)
	}
	added := int32(0)
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = replicas(rs.Spec.Replicas)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[0] = max(sizes[0]+toAdd-added, 0)
		}
		if _, err := c.scaleReplicaSet(d, rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// proportion is how many replicas a ReplicaSet gains (or loses) of toAdd, given that added
// were already handed out, as upstream's GetReplicaSetProportion.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if replicas(rs.Spec.Replicas) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	frac := fraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(frac, allowed)
	}
	return max(frac, allowed)
}

// fraction is the ReplicaSet's share of the new maximum: its size scaled by new max
// replicas over the max-replicas it was last sized for (or the Deployment's replicas).
func fraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	cur := replicas(rs.Spec.Replicas)
	if replicas(d.Spec.Replicas) == 0 {
		return -cur
	}
	newMax := replicas(d.Spec.Replicas) + maxSurge(d)
	before, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || before == 0 {
		before = d.Status.Replicas
		if before == 0 {
			return 0
		}
	}
	return roundToInt32(float64(cur*newMax)/float64(before)) - cur
}

// scaleRS resizes a ReplicaSet whose size differs from to (upstream's
// scaleReplicaSetAndRecordEvent); it reports whether the size changed.
func (c *Controller) scaleRS(d *appsv1.Deployment, rs *appsv1.ReplicaSet, to int32) (bool, error) {
	if replicas(rs.Spec.Replicas) == to {
		return false, nil
	}
	return c.scaleReplicaSet(d, rs, to)
}

// scaleReplicaSet sets a ReplicaSet's replicas and its replica annotations when either
// differs, and records the ScalingReplicaSet event when the size changed.
func (c *Controller) scaleReplicaSet(d *appsv1.Deployment, rs *appsv1.ReplicaSet, to int32) (bool, error) {
	from := replicas(rs.Spec.Replicas)
	want := replicas(d.Spec.Replicas)
	next := rs.DeepCopy()
	resized := from != to
	annotated := setReplicasAnnotations(next, want, want+maxSurge(d))
	if !resized && !annotated {
		return false, nil
	}
	next.Spec.Replicas = ptr(to)
	if err := c.writeRS(rs, next); err != nil {
		return false, err
	}
	if resized {
		dir := "up"
		if to < from {
			dir = "down"
		}
		c.event(d, corev1.EventTypeNormal, ReasonScaling, fmt.Sprintf("Scaled %s replica set %s from %d to %d", dir, rs.Name, from, to))
	}
	return resized, nil
}
