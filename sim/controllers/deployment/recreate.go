package deployment

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/controllers"
)

// rolloutRecreate is one step of a Recreate rollout: scale every old ReplicaSet to zero,
// wait until none of their pods runs (terminating ones included), and only then create
// or scale up the new ReplicaSet.
func (c *Controller) rolloutRecreate(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	// The new ReplicaSet is not created yet, so that nothing scales up before old pods stop.
	newRS, old, err := c.allReplicaSets(d, rsList, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	scaledDown := false
	for _, rs := range active(old) {
		down, err := c.scaleRS(d, rs, 0)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || down
	}
	if scaledDown || c.oldPodsRunning(newRS, old) {
		return c.syncRolloutStatus(all, newRS, d)
	}
	if newRS == nil {
		if newRS, old, err = c.allReplicaSets(d, rsList, true); err != nil {
			return err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	}
	if _, err := c.scaleRS(d, newRS, replicas(d.Spec.Replicas)); err != nil {
		return err
	}
	if complete(d, &d.Status) {
		if err := c.cleanupDeployment(old, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(all, newRS, d)
}

// oldPodsRunning reports whether an old ReplicaSet still has pods that are neither
// finished nor of unknown phase, as upstream's oldPodsRunning.
func (c *Controller) oldPodsRunning(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) bool {
	if statusSum(old, statusReplicas) > 0 {
		return true
	}
	for _, rs := range old {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		for _, o := range c.pods.ByIndex(controllers.IndexOwner, string(rs.UID)) {
			switch o.(*corev1.Pod).Status.Phase {
			case corev1.PodFailed, corev1.PodSucceeded, corev1.PodUnknown:
			default:
				return true
			}
		}
	}
	return false
}
