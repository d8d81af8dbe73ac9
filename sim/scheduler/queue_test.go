package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/loop"
)

func qpod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.PodSpec{Priority: &prio}}
}

func newTestQueue() (*queue, *loop.Loop) {
	l := loop.New(1)
	return newQueue(l, nil, queueLess(nil)), l
}

func TestQueueOrderPriorityThenAge(t *testing.T) {
	q, l := newTestQueue()
	q.add("default/old-low", qpod("old-low", 0), true)
	l.RunFor(time.Second)
	q.add("default/new-low", qpod("new-low", 0), true)
	q.add("default/high", qpod("high", 10), true)
	var got []string
	for qp := q.pop(); qp != nil; qp = q.pop() {
		got = append(got, qp.pod.Name)
	}
	if len(got) != 3 || got[0] != "high" || got[1] != "old-low" || got[2] != "new-low" {
		t.Fatalf("order %v", got)
	}
}

// TestBackoffTiming: after an error, attempt n waits 1 s × 2^(n-1), at most 10 s.
func TestBackoffTiming(t *testing.T) {
	q, l := newTestQueue()
	q.add("default/p", qpod("p", 0), true)
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		qp := q.pop()
		if qp == nil {
			t.Fatalf("attempt %d: pod not active", i+1)
		}
		start := l.Elapsed()
		q.requeueBackoff(qp)
		l.RunFor(w*time.Second - time.Millisecond)
		if q.active.Len() != 0 {
			t.Fatalf("attempt %d: back in activeQ before %v", i+1, w*time.Second)
		}
		l.RunFor(time.Millisecond)
		if q.active.Len() != 1 {
			t.Fatalf("attempt %d: not back after %v (at %v)", i+1, w*time.Second, l.Elapsed()-start)
		}
	}
}

// TestUnschedulableRequeue: an unschedulable pod waits for a cluster event (or the 5 min
// flush), and an event during its backoff moves it to backoff, not straight to active.
func TestUnschedulableRequeue(t *testing.T) {
	q, l := newTestQueue()
	q.add("default/p", qpod("p", 0), true)
	q.requeueUnschedulable(q.pop())
	l.RunFor(time.Minute)
	if q.active.Len() != 0 {
		t.Fatal("an unschedulable pod came back without an event")
	}
	q.moveAllToActiveOrBackoff() // e.g. a node was added
	if q.active.Len() != 1 {
		t.Fatal("a cluster event did not requeue the pod")
	}
	q.requeueUnschedulable(q.pop()) // attempt 2: backoff 2 s
	q.moveAllToActiveOrBackoff()
	if q.active.Len() != 0 {
		t.Fatal("the pod skipped its backoff")
	}
	l.RunFor(2 * time.Second)
	if q.active.Len() != 1 {
		t.Fatal("the pod did not leave backoff")
	}
	// The periodic flush retries pods unschedulable for more than 5 minutes.
	q.requeueUnschedulable(q.pop())
	l.RunFor(MaxInUnschedulable - time.Second)
	q.flushUnschedulable()
	if q.active.Len() != 0 {
		t.Fatal("flushed before 5 minutes")
	}
	l.RunFor(time.Second)
	q.flushUnschedulable()
	if q.active.Len() != 1 {
		t.Fatal("not flushed after 5 minutes")
	}
}

func TestGatedPods(t *testing.T) {
	q, _ := newTestQueue()
	q.add("default/g", qpod("g", 0), false)
	q.moveAllToActiveOrBackoff()
	q.flushUnschedulable()
	if q.active.Len() != 0 {
		t.Fatal("a gated pod entered activeQ on a cluster event")
	}
	if _, _, _, gated := q.counts(); gated != 1 {
		t.Fatalf("gated = %d", gated)
	}
	q.add("default/g", qpod("g", 0), true) // the pod's gates were removed
	if q.active.Len() != 1 {
		t.Fatal("releasing the gate did not activate the pod")
	}
	if _, _, _, gated := q.counts(); gated != 0 {
		t.Fatalf("gated = %d after release", gated)
	}
}
