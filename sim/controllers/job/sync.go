package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

// Condition reasons and messages upstream writes.
const (
	msgBackoffLimitExceeded     = "Job has reached the specified backoff limit"
	msgDeadlineExceeded         = "Job was active longer than specified deadline"
	msgMaxFailedIndexesExceeded = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes            = "Job has failed indexes"
	msgCompletionsReached       = "Reached expected number of succeeded pods"
)

// syncCtx is what one sync of a Job works on.
type syncCtx struct {
	job      *batchv1.Job
	pods     []*corev1.Pod
	active   []*corev1.Pod
	finished *batchv1.JobCondition
	// succeeded and failed count counted, uncounted and newly finished pods.
	succeeded, failed int32
	prevSucceededIdx  intervals
	succeededIdx      intervals
	failedIdx         *intervals
	backoff           backoffRecord
	expectedRm        map[types.UID]bool
	uncountedSucc     map[types.UID]bool
	uncountedFail     map[types.UID]bool
	delayedDeletion   map[int]*corev1.Pod
	terminating       int32
	ready             int32
}

// jobPods returns the pods the Job controls, in name order.
func (c *Controller) jobPods(j *batchv1.Job) []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range c.pods.ByIndex(controllers.IndexOwner, string(j.UID)) {
		if p := o.(*corev1.Pod); metav1.IsControlledBy(p, j) {
			out = append(out, p)
		}
	}
	return out
}

func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.jobs.Get(ns, name)
	if !ok {
		c.expect.Delete(key)
		delete(c.rmFinalizers, key)
		delete(c.backoff, key)
		return nil
	}
	shared := obj.(*batchv1.Job)
	if managedByOther(shared) {
		return nil
	}
	if isFinished(shared) {
		delete(c.backoff, key)
		return nil
	}
	job := shared.DeepCopy()
	if m := job.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		_ = c.recorder.Event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations are checked before the pods are read, so that a pod created meanwhile
	// cannot be missed.
	satisfied := c.satisfied(key)
	pods := c.jobPods(job)
	ctx := &syncCtx{job: job, pods: pods, expectedRm: c.expectedRemovals(key),
		uncountedSucc: uidSet(job.Status.UncountedTerminatedPods.Succeeded),
		uncountedFail: uidSet(job.Status.UncountedTerminatedPods.Failed)}
	for _, p := range pods {
		if controllers.IsPodActive(p) {
			ctx.active = append(ctx.active, p)
		}
	}
	ctx.ready = countReady(ctx.active)
	ctx.terminating = countTerminating(pods)
	active := int32(len(ctx.active))
	newSucceeded := validFinishedPods(ctx, ctx.uncountedSucc, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	newFailed := validFinishedPods(ctx, ctx.uncountedFail, func(p *corev1.Pod) bool { return isPodFailed(p, job) })
	ctx.succeeded = job.Status.Succeeded + int32(len(newSucceeded)) + int32(len(ctx.uncountedSucc))
	ctx.failed = job.Status.Failed + int32(len(newFailed)) + int32(len(ctx.uncountedFail))

	now := c.clock.Now()
	if job.Status.StartTime == nil && !suspended(job) {
		t := metav1.NewTime(now)
		job.Status.StartTime = &t
	}
	ctx.backoff = c.newBackoffRecord(key, newSucceeded, newFailed)

	ctx.finished = findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)
	if ctx.finished == nil {
		if ft := findCondition(job.Status.Conditions, batchv1.JobFailureTarget, corev1.ConditionTrue); ft != nil {
			ctx.finished = newCondition(batchv1.JobFailed, ft.Reason, ft.Message, now)
		}
	}
	if ctx.finished == nil {
		switch {
		case ctx.failed > backoffLimit(job) || pastBackoffLimitOnFailure(job, pods):
			ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
		case c.pastActiveDeadline(job):
			ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadlineExceeded, now)
		case job.Spec.ActiveDeadlineSeconds != nil && !suspended(job):
			c.queue.AddAfter(key, time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second-now.Sub(job.Status.StartTime.Time))
		}
	}
	if isIndexed(job) {
		ctx.prevSucceededIdx, ctx.succeededIdx = succeededIndexes(job, pods)
		ctx.succeeded = int32(ctx.succeededIdx.total())
		if hasBackoffLimitPerIndex(job) {
			ctx.failedIdx = failedIndexes(job, pods)
			if ctx.finished == nil {
				nFailed := ctx.failedIdx.total()
				if job.Spec.MaxFailedIndexes != nil && nFailed > int(*job.Spec.MaxFailedIndexes) {
					ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexesExceeded, now)
				} else if nFailed > 0 && nFailed+ctx.succeededIdx.total() >= int(*job.Spec.Completions) {
					ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, msgFailedIndexes, now)
				}
			}
			ctx.delayedDeletion = podsWithDelayedDeletion(ctx)
		}
	}

	var manageErr error
	suspendChanged := false
	if ctx.finished != nil {
		// The Job is finishing: delete what still runs, keeping the finalizers so that the
		// pods are counted as failed.
		deletedReady, deleted, err := c.deleteActivePods(job, ctx.active)
		if deleted != active || !satisfied {
			// Not finished yet: pods remain, or the cache may miss some.
			ctx.finished = nil
		}
		active -= deleted
		ctx.terminating += deleted
		ctx.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = c.manageJob(key, job, ctx)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			// Any success completes the Job once nothing runs any more.
			complete = ctx.succeeded > 0 && active == 0
		} else {
			complete = ctx.succeeded >= *job.Spec.Completions && active == 0
		}
		if complete {
			ctx.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletionsReached, now)
		} else if managed {
			suspendChanged = c.updateSuspendCondition(job, now)
		}
	}

	needsUpdate := suspendChanged || active != job.Status.Active ||
		!int32PtrEqual(&ctx.ready, job.Status.Ready) || !int32PtrEqual(&ctx.terminating, job.Status.Terminating)
	job.Status.Active = active
	job.Status.Ready = ptrTo(ctx.ready)
	job.Status.Terminating = ptrTo(ctx.terminating)
	if err := c.trackStatus(key, ctx, needsUpdate); err != nil {
		return fmt.Errorf("tracking status of job %s: %w", key, err)
	}
	return manageErr
}

// updateSuspendCondition sets the Suspended condition for a Job that is not finished and
// records Suspended/Resumed; resuming restarts the active deadline clock.
func (c *Controller) updateSuspendCondition(job *batchv1.Job, now time.Time) bool {
	var changed bool
	if suspended(job) {
		job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now)
		if changed {
			_ = c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
			c.log.Action(c.identity, "Suspended", "jobs", job.Namespace, job.Name, "Job suspended")
		}
		return changed
	}
	job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now)
	if changed {
		_ = c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
		c.log.Action(c.identity, "Resumed", "jobs", job.Namespace, job.Name, "Job resumed")
		t := metav1.NewTime(now)
		job.Status.StartTime = &t
	}
	return changed
}

// validFinishedPods returns the pods that pass keep and are not counted yet: they carry the
// finalizer, are not in skip (the uncounted list) nor having their finalizer removed, and,
// for Indexed Jobs, have a valid index.
func validFinishedPods(ctx *syncCtx, skip map[types.UID]bool, keep func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range ctx.pods {
		if !hasTrackingFinalizer(p) || skip[p.UID] || ctx.expectedRm[p.UID] {
			continue
		}
		if isIndexed(ctx.job) && validIndex(p, ctx.job) == unknownIndex {
			continue
		}
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func (c *Controller) pastActiveDeadline(j *batchv1.Job) bool {
	if j.Spec.ActiveDeadlineSeconds == nil || j.Status.StartTime == nil || suspended(j) {
		return false
	}
	return c.clock.Now().Sub(j.Status.StartTime.Time) >= time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second
}

// pastBackoffLimitOnFailure reports, for restartPolicy OnFailure, whether the running and
// pending pods' container restarts reached backoffLimit.
func pastBackoffLimitOnFailure(j *batchv1.Job, pods []*corev1.Pod) bool {
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var n int32
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
			for _, s := range p.Status.InitContainerStatuses {
				n += s.RestartCount
			}
			for _, s := range p.Status.ContainerStatuses {
				n += s.RestartCount
			}
		}
	}
	if limit := backoffLimit(j); limit > 0 {
		return n >= limit
	}
	return n > 0
}

func backoffLimit(j *batchv1.Job) int32 {
	if j.Spec.BackoffLimit != nil {
		return *j.Spec.BackoffLimit
	}
	return DefaultBackoffLimit
}

// DefaultBackoffLimit is the backoffLimit of a Job that sets none (the API server
// defaults it; this guards objects that bypassed defaulting).
const DefaultBackoffLimit = 6

func suspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: message}
}

func findCondition(list []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus) *batchv1.JobCondition {
	for i := range list {
		if list[i].Type == t && list[i].Status == status {
			return &list[i]
		}
	}
	return nil
}

// ensureCondition sets condition t to status (appending it unless status is False) and
// reports whether the list changed.
func ensureCondition(list []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	for i := range list {
		if list[i].Type == t {
			if list[i].Status != status || list[i].Reason != reason || list[i].Message != message {
				c := newCondition(t, reason, message, now)
				c.Status = status
				list[i] = *c
				return list, true
			}
			return list, false
		}
	}
	if status == corev1.ConditionFalse {
		return list, false
	}
	c := newCondition(t, reason, message, now)
	c.Status = status
	return append(list, *c), true
}

func uidSet(uids []types.UID) map[types.UID]bool {
	out := make(map[types.UID]bool, len(uids))
	for _, u := range uids {
		out[u] = true
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

func int32PtrEqual(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
