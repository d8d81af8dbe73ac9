package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// manageJob creates or deletes pods so that the Job runs min(parallelism, remaining
// completions) of them, respecting the pod-failure back-off; a suspended Job loses all its
// active pods. It returns the number of active pods afterwards.
func (c *Controller) manageJob(key string, job *batchv1.Job, ctx *syncCtx) (int32, error) {
	active := int32(len(ctx.active))
	parallelism := int32(1)
	if job.Spec.Parallelism != nil {
		parallelism = *job.Spec.Parallelism
	}
	if suspended(job) {
		rm := activePodsForRemoval(job, ctx.active, int(active))
		c.expectDeletions(key, len(rm))
		ready, removed, err := c.deleteJobPods(key, job, rm)
		ctx.terminating += removed
		ctx.ready -= ready
		return active - removed, err
	}

	var want int32
	if job.Spec.Completions == nil {
		// Without completions, parallelism pods run until one succeeds; then the running
		// ones are left to finish.
		want = parallelism
		if ctx.succeeded > 0 {
			want = active
		}
	} else {
		want = max(min(*job.Spec.Completions-ctx.succeeded, parallelism), 0)
	}

	rm := activePodsForRemoval(job, ctx.active, int(max(active-want, 0)))
	if len(rm) > MaxPodCreateDeletePerSync {
		rm = rm[:MaxPodCreateDeletePerSync]
	}
	if len(rm) > 0 {
		// Deletion takes precedence over creation within one sync.
		c.expectDeletions(key, len(rm))
		ready, removed, err := c.deleteJobPods(key, job, rm)
		ctx.terminating += removed
		ctx.ready -= ready
		return active - removed, err
	}

	var terminating int32
	if onlyReplaceFailedPods(job) {
		terminating = ctx.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	if !hasBackoffLimitPerIndex(job) {
		if r := ctx.backoff.remaining(c.clock.Now(), c.opts.PodFailureBackOff, c.opts.MaxPodFailureBackOff); r > 0 {
			c.enqueueWithDelay(key, r)
			// Upstream reports 0 active pods from a sync that waits out the back-off.
			return 0, nil
		}
	}
	diff = min(diff, MaxPodCreateDeletePerSync)
	var indexes []int
	if isIndexed(job) {
		indexes = firstPendingIndexes(ctx, int(diff), int(*job.Spec.Completions))
		if hasBackoffLimitPerIndex(job) {
			var remaining time.Duration
			if indexes, remaining = c.creatableIndexes(indexes, ctx.delayedDeletion); remaining > 0 {
				c.enqueueWithDelay(key, remaining)
				return 0, nil
			}
		}
		diff = int32(len(indexes))
	}
	if diff == 0 {
		return active, nil
	}
	return c.createPods(key, job, ctx, active, diff, indexes)
}

// createPods creates diff pods in slow-start batches (1, 2, 4, ...), skipping the rest
// after a batch with a failure, and returns the active count it expects.
func (c *Controller) createPods(key string, job *batchv1.Job, ctx *syncCtx, active, diff int32, indexes []int) (int32, error) {
	c.expectCreations(key, int(diff))
	active += diff
	tmpl := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		addCompletionIndexEnv(tmpl)
	}
	found := false
	for _, f := range tmpl.Finalizers {
		found = found || f == batchv1.JobTrackingFinalizer
	}
	if !found {
		tmpl.Finalizers = append(tmpl.Finalizers, batchv1.JobTrackingFinalizer)
	}
	var first error
	failures := 0
	for batch := min(diff, SlowStartInitialBatchSize); diff > 0; batch = min(2*batch, diff) {
		before := failures
		for i := int32(0); i < batch; i++ {
			ix := unknownIndex
			if len(indexes) > 0 {
				ix, indexes = indexes[0], indexes[1:]
			}
			var replaced *corev1.Pod
			if ix != unknownIndex {
				replaced = ctx.delayedDeletion[ix]
			}
			if err := c.createPod(job, newPod(job, tmpl, ix, replaced)); err != nil {
				c.creationObserved(key)
				active--
				failures++
				if first == nil {
					first = err
				}
			}
		}
		if skipped := diff - batch; failures > before && skipped > 0 {
			active -= skipped
			for i := int32(0); i < skipped; i++ {
				c.creationObserved(key)
			}
			break
		}
		diff -= batch
	}
	return active, first
}
