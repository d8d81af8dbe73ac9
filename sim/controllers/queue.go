// Package controllers holds what every controller shares: a deduplicating work queue of
// keys driven by the event loop, and helpers for owner references. Each controller lives in
// its own package below: informers it listens to, this queue, and sync(key).
package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/loop"
)

// Retry back-off of a failing key, as client-go's default controller rate limiter: per
// key, exponential from RetryBaseDelay to RetryMaxDelay; overall, a token bucket of
// RetryQPS with a burst of RetryBurst.
const (
	RetryBaseDelay = 5 * time.Millisecond
	RetryMaxDelay  = 1000 * time.Second
	RetryQPS       = 10
	RetryBurst     = 100
)

// Queue is a work queue of keys: a key added several times before it is processed is
// processed once; keys are processed one per loop callback in the order first added; a sync
// that fails is retried with exponential back-off.
type Queue struct {
	clock    loop.Clock
	sync     func(key string) error
	pending  []string
	dirty    map[string]bool
	failures map[string]int
	timer    *loop.Timer
	delayed  map[string]*loop.Timer
	// tokens and filled are the overall bucket's tokens at time filled.
	tokens float64
	filled time.Time
}

// NewQueue returns a queue that calls sync for each key.
func NewQueue(clock loop.Clock, sync func(key string) error) *Queue {
	return &Queue{clock: clock, sync: sync, dirty: map[string]bool{}, failures: map[string]int{}, delayed: map[string]*loop.Timer{}, tokens: RetryBurst, filled: clock.Now()}
}

// AddRateLimited queues key after its rate-limited delay, as client-go's
// workqueue.AddRateLimited with the default controller rate limiter: the longer of the
// key's exponential back-off (which grows with each such add until a sync of the key
// succeeds) and the overall token bucket's wait.
func (q *Queue) AddRateLimited(key string) {
	n := q.failures[key]
	q.failures[key] = n + 1
	d := RetryBaseDelay << uint(min(n, 30))
	if d > RetryMaxDelay || d <= 0 {
		d = RetryMaxDelay
	}
	q.AddAfter(key, max(d, q.bucketDelay()))
}

// bucketDelay takes a token from the overall bucket and returns how long until it is
// there (golang.org/x/time/rate's reservation, in virtual time).
func (q *Queue) bucketDelay() time.Duration {
	now := q.clock.Now()
	q.tokens = min(RetryBurst, q.tokens+now.Sub(q.filled).Seconds()*RetryQPS)
	q.filled = now
	q.tokens--
	if q.tokens >= 0 {
		return 0
	}
	return time.Duration(-q.tokens / RetryQPS * float64(time.Second))
}

// Add queues key for processing now.
func (q *Queue) Add(key string) {
	if q.dirty[key] {
		return
	}
	q.dirty[key] = true
	q.pending = append(q.pending, key)
	if q.timer == nil {
		q.timer = q.clock.After(0, q.processOne)
	}
}

// AddAfter queues key after d (an earlier AddAfter of the same key that is still waiting
// is kept if it fires sooner).
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	at := q.clock.Now().Add(d)
	if t, ok := q.delayed[key]; ok {
		if !t.When().After(at) {
			return
		}
		t.Stop()
	}
	q.delayed[key] = q.clock.At(at, func() {
		delete(q.delayed, key)
		q.Add(key)
	})
}

// Len returns how many keys wait to be processed now.
func (q *Queue) Len() int { return len(q.pending) }

func (q *Queue) processOne() {
	q.timer = nil
	if len(q.pending) == 0 {
		return
	}
	key := q.pending[0]
	q.pending = q.pending[1:]
	delete(q.dirty, key)
	// A success forgets the key's back-off, as the controllers' handleErr does, even when
	// the sync re-added it rate-limited (a progress check): the overall bucket then paces it.
	if err := q.sync(key); err != nil {
		q.AddRateLimited(key)
	} else {
		delete(q.failures, key)
	}
	if len(q.pending) > 0 && q.timer == nil {
		q.timer = q.clock.After(0, q.processOne)
	}
}

// ControllerOf returns the owner reference with controller=true, if any.
func ControllerOf(obj metav1.Object) *metav1.OwnerReference {
	return metav1.GetControllerOf(obj)
}

// IndexOwner is the name informers register OwnerIndex under.
const IndexOwner = "owner"

// OwnerIndex indexes objects by the UID of their controlling owner.
func OwnerIndex(obj runtime.Object) []string {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	if ref := metav1.GetControllerOf(m); ref != nil {
		return []string{string(ref.UID)}
	}
	return nil
}

// IsPodActive reports whether a pod counts towards its controller's replicas: not finished
// and not being deleted.
func IsPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// IsPodAvailable reports whether the pod has been ready for minReadySeconds at now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return minReadySeconds == 0 || !c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now)
		}
	}
	return false
}

// IndexNamespace is the informer index of objects by namespace.
const IndexNamespace = "namespace"

// NamespaceIndex indexes an object by its namespace.
func NamespaceIndex(obj runtime.Object) []string {
	m, ok := obj.(metav1.Object)
	if !ok || m.GetNamespace() == "" {
		return nil
	}
	return []string{m.GetNamespace()}
}
