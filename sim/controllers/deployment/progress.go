package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

// hasProgressDeadline reports whether the Deployment sets a progress deadline.
func hasProgressDeadline(d *appsv1.Deployment) bool {
	p := d.Spec.ProgressDeadlineSeconds
	return p != nil && *p != unlimited
}

func (c *Controller) newCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string) appsv1.DeploymentCondition {
	now := metav1.NewTime(c.clock.Now())
	return appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
}

// condition returns the status's condition of type t, or nil.
func condition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition sets a condition as upstream's SetDeploymentCondition: nothing changes when
// status and reason are the same; the transition time is kept when the status is; the
// condition moves to the end.
func setCondition(st *appsv1.DeploymentStatus, cond appsv1.DeploymentCondition) {
	cur := condition(st, cond.Type)
	if cur != nil && cur.Status == cond.Status && cur.Reason == cond.Reason {
		return
	}
	if cur != nil && cur.Status == cond.Status {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, cond.Type)
	st.Conditions = append(st.Conditions, cond)
}

func removeCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var out []appsv1.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}

// calculateStatus is the Deployment's status from its ReplicaSets, with the Available
// condition; other conditions are carried over.
func (c *Controller) calculateStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) appsv1.DeploymentStatus {
	available := statusSum(all, statusAvailable)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            statusSum(all, statusReplicas),
		UpdatedReplicas:     statusSum([]*appsv1.ReplicaSet{newRS}, statusReplicas),
		ReadyReplicas:       statusSum(all, statusReady),
		AvailableReplicas:   available,
		UnavailableReplicas: max(specReplicas(all...)-available, 0),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if c.terminating {
		st.TerminatingReplicas = ptr(c.terminatingPods(all))
	}
	if available >= replicas(d.Spec.Replicas)-maxUnavailable(d) {
		setCondition(&st, c.newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, messageMinimumAvailable))
	} else {
		setCondition(&st, c.newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumUnavailable, messageMinimumUnavailable))
	}
	return st
}

// terminatingPods counts the ReplicaSets' pods that are being deleted and still run.
func (c *Controller) terminatingPods(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += c.terminatingPodsOf(rs)
		}
	}
	return n
}

func (c *Controller) terminatingPodsOf(rs *appsv1.ReplicaSet) int32 {
	var n int32
	for _, o := range c.pods.ByIndex(controllers.IndexOwner, string(rs.UID)) {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			n++
		}
	}
	return n
}

// complete reports whether every replica is updated and available and the spec observed.
func complete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	want := replicas(d.Spec.Replicas)
	return st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want && st.ObservedGeneration >= d.Generation
}

// progressing reports whether the new status shows progress over the stored one.
func progressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

// timedOut reports whether the progress deadline passed since the last progress.
func (c *Controller) timedOut(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	cond := condition(st, appsv1.DeploymentProgressing)
	switch {
	case cond == nil, cond.Reason == ReasonNewRSAvailable:
		return false
	case cond.Reason == ReasonTimedOut:
		return true
	}
	deadline := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
	return deadline.Before(c.clock.Now())
}

// syncStatusOnly writes the status without any other change.
func (c *Controller) syncStatusOnly(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.allReplicaSets(d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncDeploymentStatus(append(old, newRS), newRS, d)
}

// syncDeploymentStatus writes the calculated status if it changed.
func (c *Controller) syncDeploymentStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	st := c.calculateStatus(all, newRS, d)
	if equality.Semantic.DeepEqual(d.Status, st) {
		return nil
	}
	d.Status = st
	return c.writeStatus(d)
}

// syncRolloutStatus writes the status of a rollout step with the Progressing condition:
// NewReplicaSetAvailable when complete, ReplicaSetUpdated (its update time advanced) on
// progress, ProgressDeadlineExceeded when the deadline passed without progress; otherwise
// it requeues the Deployment for when the deadline would pass.
func (c *Controller) syncRolloutStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	st := c.calculateStatus(all, newRS, d)
	if !hasProgressDeadline(d) {
		removeCondition(&st, appsv1.DeploymentProgressing)
	}
	cur := condition(&d.Status, appsv1.DeploymentProgressing)
	isComplete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !isComplete {
		subject := fmt.Sprintf("Deployment %q", d.Name)
		if newRS != nil {
			subject = fmt.Sprintf("ReplicaSet %q", newRS.Name)
		}
		switch {
		case complete(d, &st):
			setCondition(&st, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, subject+" has successfully progressed."))
		case progressing(d, &st):
			cond := c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, subject+" is progressing.")
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					cond.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, appsv1.DeploymentProgressing)
			}
			setCondition(&st, cond)
		case c.timedOut(d, &st):
			setCondition(&st, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, subject+" has timed out progressing."))
		}
	}
	if fail := replicaFailure(all, newRS); fail != nil {
		setCondition(&st, *fail)
	} else {
		removeCondition(&st, appsv1.DeploymentReplicaFailure)
	}
	if equality.Semantic.DeepEqual(d.Status, st) {
		c.requeueStuck(d, &st)
		return nil
	}
	d.Status = st
	return c.writeStatus(d)
}

// replicaFailure carries a ReplicaSet's ReplicaFailure condition (the new one's first) to
// the Deployment, as upstream's getReplicaFailures.
func replicaFailure(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	convert := func(rs *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
		for _, rc := range rs.Status.Conditions {
			if rc.Type == appsv1.ReplicaSetReplicaFailure {
				return &appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: rc.Status, Reason: rc.Reason, Message: rc.Message,
					LastUpdateTime: rc.LastTransitionTime, LastTransitionTime: rc.LastTransitionTime}
			}
		}
		return nil
	}
	if newRS != nil {
		if cond := convert(newRS); cond != nil {
			return cond
		}
	}
	for _, rs := range all {
		if rs != nil && rs != newRS {
			if cond := convert(rs); cond != nil {
				return cond
			}
		}
	}
	return nil
}

// requeueStuck queues the Deployment for when its progress deadline passes (plus the
// skew), as upstream's requeueStuckDeployment; within a second of it (or past it, with no
// sign of progress), rate-limited.
func (c *Controller) requeueStuck(d *appsv1.Deployment, st *appsv1.DeploymentStatus) {
	cur := condition(&d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil || complete(d, st) || cur.Reason == ReasonTimedOut {
		return
	}
	after := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(c.clock.Now())
	key := informer.Key(d)
	if after < time.Second {
		c.queue.AddRateLimited(key)
		return
	}
	c.queue.AddAfter(key, after+ProgressCheckSkew)
}

// checkPausedConditions sets Progressing to Unknown/DeploymentPaused when the Deployment is
// paused and Unknown/DeploymentResumed when it is resumed, so that the time spent paused
// never counts against the progress deadline; a timed-out condition stays.
func (c *Controller) checkPausedConditions(d *appsv1.Deployment) error {
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := condition(&d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonTimedOut {
		return nil
	}
	pausedCond := cond != nil && cond.Reason == ReasonPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, messagePaused))
	case !d.Spec.Paused && pausedCond:
		setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, messageResumed))
	default:
		return nil
	}
	return c.writeStatus(d)
}
