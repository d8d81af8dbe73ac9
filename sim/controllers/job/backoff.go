package job

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// backoffRecord counts a Job's pod failures since its last success, to delay recreations.
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
}

// newBackoffRecord returns the Job's record updated with pods that finished since the last
// sync (the stored record changes only once the status that counts them is written).
func (c *Controller) newBackoffRecord(key string, succeeded, failed []*corev1.Pod) backoffRecord {
	b := c.backoff[key]
	sortByFinishedTime(succeeded)
	sortByFinishedTime(failed)
	if len(succeeded) == 0 {
		if len(failed) == 0 {
			return b
		}
		b.failuresAfterLastSuccess += int32(len(failed))
		t := finishedTime(failed[len(failed)-1])
		b.lastFailureTime = &t
		return b
	}
	b = backoffRecord{}
	lastSuccess := finishedTime(succeeded[len(succeeded)-1])
	for i := len(failed) - 1; i >= 0; i-- {
		t := finishedTime(failed[i])
		if !t.After(lastSuccess) {
			break
		}
		if b.lastFailureTime == nil {
			b.lastFailureTime = &t
		}
		b.failuresAfterLastSuccess++
	}
	return b
}

// remaining returns how long pod creation must still wait at now.
func (b backoffRecord) remaining(now time.Time, base, limit time.Duration) time.Duration {
	return remainingForFailures(now, base, limit, b.failuresAfterLastSuccess, b.lastFailureTime)
}

// remainingForFailures is the back-off after n failures (base doubling per failure, capped
// at limit) minus the time since the last failure, or 0 when it has passed.
func remainingForFailures(now time.Time, base, limit time.Duration, n int32, last *time.Time) time.Duration {
	if n == 0 || last == nil {
		return 0
	}
	d := base
	for i := 1; i < int(n); i++ {
		d *= 2
		if d >= limit {
			d = limit
			break
		}
	}
	elapsed := now.Sub(*last)
	if d < elapsed {
		return 0
	}
	return d - elapsed
}

func sortByFinishedTime(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishedTime(pods[i]).Before(finishedTime(pods[j])) })
}

// finishedTime is when a pod finished: its containers' latest finish if all finished, else
// its Ready=False transition, else its deletion time less the grace period, else its
// creation.
func finishedTime(p *corev1.Pod) time.Time {
	if t := containersFinished(p); t != nil {
		return *t
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
				return c.LastTransitionTime.Time
			}
			break
		}
	}
	if p.DeletionTimestamp != nil {
		var grace int64
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp.Time
}

func containersFinished(p *corev1.Pod) *time.Time {
	var t *time.Time
	for i := range p.Status.ContainerStatuses {
		term := p.Status.ContainerStatuses[i].State.Terminated
		if term == nil || term.FinishedAt.IsZero() {
			return nil
		}
		if t == nil || t.Before(term.FinishedAt.Time) {
			t = &term.FinishedAt.Time
		}
	}
	return t
}

// podsWithDelayedDeletion returns, per index, the failed pod whose finalizer is kept until
// its replacement exists, so that the replacement can inherit its failure count.
func podsWithDelayedDeletion(ctx *syncCtx) map[int]*corev1.Pod {
	active := map[int]bool{}
	for _, ix := range indexSet(ctx.active) {
		active[ix] = true
	}
	out := map[int]*corev1.Pod{}
	for _, p := range validFinishedPods(ctx, nil, func(p *corev1.Pod) bool { return isPodFailed(p, ctx.job) }) {
		ix := validIndex(p, ctx.job)
		if ix == unknownIndex || ctx.succeededIdx.has(ix) || (ctx.failedIdx != nil && ctx.failedIdx.has(ix)) || active[ix] {
			continue
		}
		if last, ok := out[ix]; ok {
			if indexAbsoluteFailureCount(last) <= indexAbsoluteFailureCount(p) && !finishedTime(p).Before(finishedTime(last)) {
				out[ix] = p
			}
		} else {
			out[ix] = p
		}
	}
	return out
}

// creatableIndexes returns the indexes whose per-index back-off has passed, or none and the
// shortest remaining back-off.
func (c *Controller) creatableIndexes(ixs []int, delayed map[int]*corev1.Pod) ([]int, time.Duration) {
	now := c.clock.Now()
	var ready []int
	var minRemaining time.Duration = -1
	for _, ix := range ixs {
		var r time.Duration
		if last := delayed[ix]; last != nil {
			t := finishedTime(last)
			r = remainingForFailures(now, c.opts.PodFailureBackOff, c.opts.MaxPodFailureBackOff, indexAbsoluteFailureCount(last)+1, &t)
		}
		if r == 0 {
			ready = append(ready, ix)
		} else if minRemaining < 0 || r < minRemaining {
			minRemaining = r
		}
	}
	if len(ready) > 0 || minRemaining < 0 {
		return ready, 0
	}
	return nil, minRemaining
}
