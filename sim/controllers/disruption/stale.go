package disruption

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/informer"
)

// staleDisruptionCondition reports whether a pod that is not being deleted carries a
// True DisruptionTarget condition (not the kubelet's, not on a finished pod), and how long
// until it is stale.
func (c *Controller) staleDisruptionCondition(pod *corev1.Pod) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	cond := disruptionTarget(pod)
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason == corev1.PodReasonTerminationByKubelet {
		return false, 0
	}
	return true, max(c.staleFor-c.clock.Now().Sub(cond.LastTransitionTime.Time), 0)
}

func disruptionTarget(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.DisruptionTarget {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// syncStalePodDisruption sets a stale DisruptionTarget condition to False.
func (c *Controller) syncStalePodDisruption(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.pods.Get(ns, name)
	if !ok {
		return nil
	}
	pod := obj.(*corev1.Pod)
	stale, after := c.staleDisruptionCondition(pod)
	if !stale {
		return nil
	}
	if after > 0 {
		c.stale.AddAfter(key, after)
		return nil
	}
	next := pod.DeepCopy()
	cond := disruptionTarget(next)
	// As UpdatePodCondition with only Type and Status: reason and message are cleared.
	*cond = corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(c.clock.Now())}
	if _, err := c.client.UpdateStatus(next); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	c.log.Action(c.identity, "StaleDisruptionTargetReset", "pods", ns, name, "Reset stale DisruptionTarget condition to False")
	return nil
}
