package scheduler

import (
	"container/heap"
	"time"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Queue timings, as kube-scheduler's defaults.
const (
	// InitialBackoff is podInitialBackoffSeconds.
	InitialBackoff = 1 * time.Second
	// MaxBackoff is podMaxBackoffSeconds.
	MaxBackoff = 10 * time.Second
	// UnschedulableFlushPeriod is how often pods stuck as unschedulable are checked.
	UnschedulableFlushPeriod = 30 * time.Second
	// MaxInUnschedulable is how long a pod may wait for a cluster event before it is
	// retried anyway (podMaxInUnschedulablePodsDuration).
	MaxInUnschedulable = 5 * time.Minute
)

// queuedPod is a pod waiting to be scheduled.
type queuedPod struct {
	key      string
	pod      *corev1.Pod
	attempts int
	// backoffUntil is when the pod may be tried again after a failure.
	backoffUntil time.Time
	// unschedulableSince is when the pod entered the unschedulable set.
	unschedulableSince time.Time
	index              int // in activeQ, -1 when not there
	backoffTimer       *loop.Timer
	where              int
	// added is when the pod entered the queue (QueueSort's timestamp).
	added time.Time
	// info is the pod's requests, computed once per pod object; the first pod object's
	// are kept in infoStore, saving an allocation per pod.
	info      *framework.PodInfo
	infoStore framework.PodInfo
}

// podInfo returns the queued pod's requests, computing them once per pod object. The
// PodInfo is shared (an assumed pod's goes into the cache): once made, it is never
// changed, and a new pod object gets a new one.
func (qp *queuedPod) podInfo() *framework.PodInfo {
	switch {
	case qp.info == nil:
		framework.InitPodInfo(&qp.infoStore, qp.pod)
		qp.info = &qp.infoStore
	case qp.info.Pod != qp.pod:
		qp.info = framework.NewPodInfo(qp.pod)
	}
	return qp.info
}

const (
	inNone = iota
	inActive
	inBackoff
	inUnschedulable
	// inGated: rejected by a PreEnqueue plugin (scheduling gates); only an update of the
	// pod itself can release it.
	inGated
)

// queue is the scheduling queue: activeQ ordered by priority then age (the PrioritySort
// plugin), a backoff area with per-pod exponential backoff, and an unschedulable set that
// waits for a cluster event.
type queue struct {
	clock  loop.Clock
	active activeHeap
	gated  int
	pods   map[string]*queuedPod
	// unsched holds the pods waiting for a cluster event, so events touch only them.
	unsched map[string]*queuedPod
	// onActive is called when activeQ becomes non-empty.
	onActive func()
}

func newQueue(clock loop.Clock, onActive func(), less func(a, b *queuedPod) bool) *queue {
	return &queue{clock: clock, pods: map[string]*queuedPod{}, unsched: map[string]*queuedPod{}, onActive: onActive, active: activeHeap{less: less}}
}

// queueLess orders activeQ by the profile's QueueSort plugin (PrioritySort when none),
// then by key, so that equal pods keep a deterministic order.
func queueLess(sort framework.QueueSortPlugin) func(a, b *queuedPod) bool {
	// The two infos a comparison hands the plugin are filled in anew for every comparison
	// rather than allocated: Less only reads them, and returns before the next.
	var ia, ib framework.QueuedPodInfo
	info := func(qp *queuedPod, to *framework.QueuedPodInfo) *framework.QueuedPodInfo {
		*to = framework.QueuedPodInfo{Pod: qp.pod, Timestamp: qp.added.UnixNano(), Attempts: qp.attempts}
		return to
	}
	return func(a, b *queuedPod) bool {
		if sort != nil {
			ia, ib := info(a, &ia), info(b, &ib)
			if sort.Less(ia, ib) {
				return true
			}
			if sort.Less(ib, ia) {
				return false
			}
			return a.key < b.key
		}
		pa, pb := corev1helpers.PodPriority(a.pod), corev1helpers.PodPriority(b.pod)
		if pa != pb {
			return pa > pb
		}
		if !a.added.Equal(b.added) {
			return a.added.Before(b.added)
		}
		return a.key < b.key
	}
}

// add enqueues a pending pod, or refreshes one already queued; admitted is the verdict of
// the PreEnqueue plugins (false: gated).
func (q *queue) add(key string, pod *corev1.Pod, admitted bool) {
	qp, ok := q.pods[key]
	if !ok {
		qp = &queuedPod{key: key, pod: pod, index: -1, added: q.clock.Now()}
		q.pods[key] = qp
	}
	qp.pod = pod
	switch {
	case !admitted:
		if qp.where == inActive {
			heap.Remove(&q.active, qp.index)
		}
		q.leave(qp)
		qp.where = inGated
		q.gated++
	case qp.where == inGated || !ok:
		q.leave(qp)
		q.pushActive(qp)
	case qp.where == inActive:
		heap.Fix(&q.active, qp.index)
	}
}

// leave takes a pod out of the gated and unschedulable sets and stops its backoff timer.
func (q *queue) leave(qp *queuedPod) {
	if qp.where == inGated {
		q.gated--
	}
	delete(q.unsched, qp.key)
	qp.backoffTimer.Stop()
	qp.backoffTimer = nil
	qp.where = inNone
}

// remove drops a pod (bound, deleted or no longer ours).
func (q *queue) remove(key string) {
	qp, ok := q.pods[key]
	if !ok {
		return
	}
	delete(q.pods, key)
	if qp.where == inActive {
		heap.Remove(&q.active, qp.index)
	}
	q.leave(qp)
}

func (q *queue) pushActive(qp *queuedPod) {
	qp.backoffTimer.Stop()
	qp.backoffTimer = nil
	qp.where = inActive
	heap.Push(&q.active, qp)
	if len(q.active.items) == 1 && q.onActive != nil {
		q.onActive()
	}
}

// pop takes the next pod to schedule; the pod stays known to the queue (in no area) until
// done, requeue or remove.
func (q *queue) pop() *queuedPod {
	if len(q.active.items) == 0 {
		return nil
	}
	qp := heap.Pop(&q.active).(*queuedPod)
	qp.where = inNone
	qp.attempts++
	return qp
}

// done forgets a pod that was scheduled.
func (q *queue) done(key string) { q.remove(key) }

func (q *queue) backoffDuration(qp *queuedPod) time.Duration {
	d := InitialBackoff
	for i := 1; i < qp.attempts; i++ {
		d *= 2
		if d >= MaxBackoff {
			return MaxBackoff
		}
	}
	return d
}

// requeueBackoff puts a pod whose attempt failed with an error back after its backoff.
func (q *queue) requeueBackoff(qp *queuedPod) {
	if _, ok := q.pods[qp.key]; !ok {
		return
	}
	qp.backoffUntil = q.clock.Now().Add(q.backoffDuration(qp))
	q.toBackoff(qp)
}

func (q *queue) toBackoff(qp *queuedPod) {
	qp.where = inBackoff
	qp.backoffTimer.Stop()
	qp.backoffTimer = q.clock.At(qp.backoffUntil, func() {
		if qp.where == inBackoff {
			q.pushActive(qp)
		}
	})
}

// requeueUnschedulable parks a pod that fits no node until a cluster event may help.
func (q *queue) requeueUnschedulable(qp *queuedPod) {
	if _, ok := q.pods[qp.key]; !ok {
		return
	}
	now := q.clock.Now()
	qp.backoffUntil = now.Add(q.backoffDuration(qp))
	qp.unschedulableSince = now
	qp.where = inUnschedulable
	q.unsched[qp.key] = qp
}

// moveAllToActiveOrBackoff retries every unschedulable pod after a cluster event (node
// added or changed, pod deleted): those still backing off wait out their backoff.
func (q *queue) moveAllToActiveOrBackoff() {
	for _, qp := range q.sortedUnschedulable(time.Time{}) {
		q.reactivate(qp)
	}
}

// flushUnschedulable retries pods that waited longer than MaxInUnschedulable.
func (q *queue) flushUnschedulable() {
	for _, qp := range q.sortedUnschedulable(q.clock.Now().Add(-MaxInUnschedulable)) {
		q.reactivate(qp)
	}
}

func (q *queue) reactivate(qp *queuedPod) {
	delete(q.unsched, qp.key)
	if q.clock.Now().Before(qp.backoffUntil) {
		q.toBackoff(qp)
	} else {
		q.pushActive(qp)
	}
}

// sortedUnschedulable lists unschedulable pods (that entered before cutoff, if set) in key
// order, so that moving them is deterministic.
func (q *queue) sortedUnschedulable(cutoff time.Time) []*queuedPod {
	var out []*queuedPod
	for _, qp := range q.unsched {
		if cutoff.IsZero() || !qp.unschedulableSince.After(cutoff) {
			out = append(out, qp)
		}
	}
	sortByKey(out)
	return out
}

func sortByKey(ps []*queuedPod) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].key < ps[j-1].key; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// counts returns how many pods are active, backing off, unschedulable and gated (for
// reports; it walks the queue).
func (q *queue) counts() (active, backoff, unschedulable, gated int) {
	for _, qp := range q.pods {
		switch qp.where {
		case inActive:
			active++
		case inBackoff:
			backoff++
		case inUnschedulable:
			unschedulable++
		case inGated:
			gated++
		}
	}
	return
}

// activeHeap is activeQ, ordered by less.
type activeHeap struct {
	items []*queuedPod
	less  func(a, b *queuedPod) bool
}

func (h *activeHeap) Len() int           { return len(h.items) }
func (h *activeHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *activeHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}
func (h *activeHeap) Push(x any) {
	qp := x.(*queuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *activeHeap) Pop() any {
	n := len(h.items)
	qp := h.items[n-1]
	h.items[n-1] = nil
	qp.index = -1
	h.items = h.items[:n-1]
	return qp
}
