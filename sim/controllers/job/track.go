package job

import (
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// trackStatus counts finished pods as upstream tracks them with finalizers:
//  1. finished pods still carrying the finalizer go into status.uncountedTerminatedPods
//     (Indexed Jobs: their index into completedIndexes), with the interim FailureTarget or
//     SuccessCriteriaMet condition, and the status is written;
//  2. their finalizers are removed;
//  3. pods whose finalizer is gone move from the uncounted lists to the counters;
//  4. once nothing is uncounted or terminating, the Failed or Complete condition is set.
func (c *Controller) trackStatus(key string, ctx *syncCtx, needsFlush bool) error {
	job := ctx.job
	indexed := isIndexed(job)
	pods := append([]*corev1.Pod(nil), ctx.pods...)
	if indexed {
		sortByIndex(pods) // new completed indexes go in in order
	}
	withFinalizer := map[types.UID]bool{}
	for _, p := range pods {
		if hasTrackingFinalizer(p) && !ctx.expectedRm[p.UID] {
			withFinalizer[p.UID] = true
		}
	}
	if countRemoved(&job.Status, withFinalizer) {
		needsFlush = true
	}
	unc := job.Status.UncountedTerminatedPods
	var rmPods []*corev1.Pod
	var newSucceededIdx []int
	reachedMax := false
	for _, p := range pods {
		if !hasTrackingFinalizer(p) || ctx.expectedRm[p.UID] {
			continue // counted in an earlier sync
		}
		failed := isPodFailed(p, job)
		if !canRemoveFinalizer(ctx, p, failed) {
			continue
		}
		rmPods = append(rmPods, p)
		if p.Status.Phase == corev1.PodSucceeded && !ctx.uncountedFail[p.UID] {
			if indexed {
				// The index suffices to avoid counting a success twice.
				if ix := validIndex(p, job); ix != unknownIndex && !ctx.prevSucceededIdx.has(ix) {
					newSucceededIdx = append(newSucceededIdx, ix)
					needsFlush = true
				}
			} else if !ctx.uncountedSucc[p.UID] {
				unc.Succeeded = append(unc.Succeeded, p.UID)
				needsFlush = true
			}
		} else if failed || (ctx.finished != nil && ctx.finished.Type != batchv1.JobSuccessCriteriaMet) {
			// Once the Job is finishing, every pod not succeeded counts as failed.
			if !ctx.uncountedFail[p.UID] && (!indexed || validIndex(p, job) != unknownIndex) {
				unc.Failed = append(unc.Failed, p.UID)
				needsFlush = true
			}
		}
		if len(newSucceededIdx)+len(unc.Succeeded)+len(unc.Failed) >= MaxUncountedPods {
			// Keep the status small and leave room for other Jobs; the writes below bring
			// this Job back.
			reachedMax = true
			break
		}
	}
	if indexed {
		ctx.succeededIdx = ctx.succeededIdx.withIndexes(uniqueSorted(newSucceededIdx))
		s := ctx.succeededIdx.String()
		if s != job.Status.CompletedIndexes {
			needsFlush = true
		}
		job.Status.Succeeded = int32(ctx.succeededIdx.total())
		job.Status.CompletedIndexes = s
		var failedStr *string
		if ctx.failedIdx != nil {
			failedStr = ptrTo(ctx.failedIdx.String())
		}
		if !stringPtrEqual(job.Status.FailedIndexes, failedStr) {
			job.Status.FailedIndexes = failedStr
			needsFlush = true
		}
	}
	now := c.clock.Now()
	if f := ctx.finished; f != nil && f.Type == batchv1.JobFailureTarget {
		job.Status.Conditions = append(job.Status.Conditions, *f)
		needsFlush = true
		ctx.finished = newCondition(batchv1.JobFailed, f.Reason, f.Message, now)
	}
	if f := ctx.finished; f != nil && f.Type == batchv1.JobSuccessCriteriaMet {
		if findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue) == nil {
			job.Status.Conditions = append(job.Status.Conditions, *f)
			needsFlush = true
		}
		ctx.finished = newCondition(batchv1.JobComplete, f.Reason, f.Message, now)
	}
	needsFlush, err := c.flushAndRemoveFinalizers(key, ctx, rmPods, withFinalizer, needsFlush)
	if err != nil {
		return err
	}
	finished := !reachedMax && c.enactFinished(ctx)
	if finished {
		needsFlush = true
	}
	if needsFlush {
		if err := c.writeStatus(ctx); err != nil {
			return fmt.Errorf("removing uncounted pods from status: %w", err)
		}
		if finished {
			c.recordFinished(ctx.job, ctx.finished)
		}
	}
	return nil
}

// canRemoveFinalizer: a pod's finalizer goes once the Job is being deleted or finishing,
// the pod succeeded, or the pod failed (unless it waits for its replacement to inherit its
// index failure count).
func canRemoveFinalizer(ctx *syncCtx, p *corev1.Pod, failed bool) bool {
	if ctx.job.DeletionTimestamp != nil || ctx.finished != nil || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if hasBackoffLimitPerIndex(ctx.job) {
		if ix := completionIndex(p); ix != unknownIndex {
			if d, ok := ctx.delayedDeletion[ix]; ok && d.UID == p.UID {
				return false
			}
		}
	}
	return true
}

// flushAndRemoveFinalizers writes the status with the new uncounted pods (and stores the
// back-off record it accounts for), removes the finalizers, and moves the pods whose
// finalizer is gone to the counters. It returns whether the status still needs writing.
func (c *Controller) flushAndRemoveFinalizers(key string, ctx *syncCtx, rmPods []*corev1.Pod, withFinalizer map[types.UID]bool, needsFlush bool) (bool, error) {
	if needsFlush {
		if err := c.writeStatus(ctx); err != nil {
			return needsFlush, fmt.Errorf("adding uncounted pods to status: %w", err)
		}
		c.backoff[key] = ctx.backoff
		needsFlush = false
	}
	var rmErr error
	if len(rmPods) > 0 {
		uids := make([]types.UID, len(rmPods))
		for i, p := range rmPods {
			uids[i] = p.UID
		}
		c.expectFinalizersRemoved(key, uids)
		for _, p := range rmPods {
			if err := c.removeFinalizer(p); err != nil {
				// No update will come for this pod: stop expecting one.
				c.finalizerRemovalObserved(key, p.UID)
				if !apierrors.IsNotFound(err) {
					rmErr = errors.Join(rmErr, err)
					continue
				}
			}
			delete(withFinalizer, p.UID)
		}
	}
	if countRemoved(&ctx.job.Status, withFinalizer) {
		needsFlush = true
	}
	if rmErr != nil && needsFlush {
		if err := c.writeStatus(ctx); err != nil {
			return needsFlush, fmt.Errorf("removing uncounted pods from status: %w", err)
		}
	}
	return needsFlush, rmErr
}

// countRemoved moves the uncounted pods that no longer carry the finalizer to the
// succeeded and failed counters and reports whether the status changed.
func countRemoved(st *batchv1.JobStatus, withFinalizer map[types.UID]bool) bool {
	changed := false
	unc := st.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, u := range uids {
			if withFinalizer[u] {
				out = append(out, u)
			}
		}
		return out
	}
	if kept := keep(unc.Succeeded); len(kept) != len(unc.Succeeded) {
		st.Succeeded += int32(len(unc.Succeeded) - len(kept))
		unc.Succeeded = kept
		changed = true
	}
	if kept := keep(unc.Failed); len(kept) != len(unc.Failed) {
		st.Failed += int32(len(unc.Failed) - len(kept))
		unc.Failed = kept
		changed = true
	}
	return changed
}

// enactFinished sets the final condition once no pod is uncounted or terminating.
func (c *Controller) enactFinished(ctx *syncCtx) bool {
	f := ctx.finished
	if f == nil {
		return false
	}
	st := &ctx.job.Status
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	if ctx.terminating > 0 {
		return false
	}
	st.Conditions, _ = ensureCondition(st.Conditions, f.Type, f.Status, f.Reason, f.Message, c.clock.Now())
	if f.Type == batchv1.JobComplete {
		t := f.LastTransitionTime
		st.CompletionTime = &t
	}
	return true
}

// recordFinished records the events of a finished Job.
func (c *Controller) recordFinished(job *batchv1.Job, f *batchv1.JobCondition) {
	if f.Type == batchv1.JobComplete {
		if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
			msg := "Too many succeeded pods running after completion count reached"
			_ = c.recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", msg)
			c.log.Action(c.identity, "TooManySucceededPods", "jobs", job.Namespace, job.Name, msg)
		}
		_ = c.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		c.log.Action(c.identity, "Completed", "jobs", job.Namespace, job.Name, "Job completed")
		return
	}
	_ = c.recorder.Event(job, corev1.EventTypeWarning, f.Reason, f.Message)
	c.log.Action(c.identity, f.Reason, "jobs", job.Namespace, job.Name, f.Message)
}

// writeStatus writes ctx.job's status and continues with the stored Job.
func (c *Controller) writeStatus(ctx *syncCtx) error {
	out, err := c.client.UpdateStatus(ctx.job)
	if err != nil {
		return fmt.Errorf("update status of job %s/%s: %w", ctx.job.Namespace, ctx.job.Name, err)
	}
	ctx.job = out.(*batchv1.Job)
	return nil
}

func stringPtrEqual(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
