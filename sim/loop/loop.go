// Package loop is Orrery's event loop: a virtual clock, a queue of callbacks ordered by
// (time, sequence), and seeded random sub-streams, one per component.
//
// Everything in a simulation asks the loop for the time and for randomness and schedules
// its future work on it; nothing else may read the wall clock, sleep or start goroutines.
// Two callbacks due at the same instant run in the order they were scheduled, so a run is a
// pure function of its scenario and seed.
package loop

import (
	"container/heap"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Epoch is the virtual wall-clock time at which every simulation starts. Object timestamps
// (creationTimestamp, lease renew times, ...) are Epoch plus the elapsed virtual time.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is what components need from the loop: the time, timers and randomness. The
// simulated Loop implements it; real mode paces the same interface by the wall clock.
type Clock interface {
	// Now returns the current virtual time.
	Now() time.Time
	// After schedules fn to run d from now and returns a timer that can cancel it.
	After(d time.Duration, fn func()) *Timer
	// At schedules fn at time t.
	At(t time.Time, fn func()) *Timer
	// Rand returns the random stream owned by the named component.
	Rand(stream string) *rand.Rand
}

// Timer is a scheduled callback that can be stopped before it runs.
type Timer struct {
	loop     *Loop
	at       time.Time
	seq      uint64
	fn       func()
	index    int // position in the heap, -1 once popped or removed
	stopped  bool
	executed bool
}

// When returns the virtual time at which the timer fires.
func (t *Timer) When() time.Time { return t.at }

// Loop is the simulation's single-threaded event loop over virtual time.
type Loop struct {
	now      time.Time
	seq      uint64
	queue    timerHeap
	seed     uint64
	streams  map[string]*rand.Rand
	executed uint64
	stopped  bool
}

// New returns a loop at Epoch whose random streams derive from seed.
func New(seed uint64) *Loop {
	return &Loop{now: Epoch, seed: seed, streams: map[string]*rand.Rand{}}
}

// Now returns the current virtual time.
func (l *Loop) Now() time.Time { return l.now }

// Elapsed returns the virtual time since Epoch.
func (l *Loop) Elapsed() time.Duration { return l.now.Sub(Epoch) }

// Seed returns the seed the loop's random streams derive from.
func (l *Loop) Seed() uint64 { return l.seed }

// Executed returns how many callbacks have run so far.
func (l *Loop) Executed() uint64 { return l.executed }

// Pending returns how many callbacks are scheduled and not yet run or stopped.
func (l *Loop) Pending() int { return len(l.queue) }

// At schedules fn at virtual time t; a time in the past runs at the current instant, after
// what is already due then.
func (l *Loop) At(t time.Time, fn func()) *Timer {
	if t.Before(l.now) {
		t = l.now
	}
	l.seq++
	tm := &Timer{loop: l, at: t, seq: l.seq, fn: fn}
	heap.Push(&l.queue, tm)
	return tm
}

// After schedules fn to run d from now.
func (l *Loop) After(d time.Duration, fn func()) *Timer { return l.At(l.now.Add(d), fn) }

// Stop cancels the timer; it reports whether the callback had not yet run. A nil timer is
// allowed and reports false.
func (t *Timer) Stop() bool {
	if t == nil || t.executed || t.stopped {
		return false
	}
	t.stopped = true
	if t.index >= 0 {
		heap.Remove(&t.loop.queue, t.index)
	}
	return true
}

// Next returns when the earliest scheduled callback is due, and false when none is (real
// mode sleeps until then by the wall clock).
func (l *Loop) Next() (time.Time, bool) {
	if len(l.queue) == 0 {
		return time.Time{}, false
	}
	return l.queue[0].at, true
}

// Rand returns the named component's random stream. Each stream is seeded from the run's
// seed and the stream's name alone, so adding a component or a fault does not reshuffle the
// choices of the others.
func (l *Loop) Rand(stream string) *rand.Rand {
	if r, ok := l.streams[stream]; ok {
		return r
	}
	h := fnv.New64a()
	h.Write([]byte(stream))
	r := rand.New(rand.NewPCG(l.seed, h.Sum64()))
	l.streams[stream] = r
	return r
}

// Step runs the next due callback, advancing the clock to its time; it reports false when
// nothing is scheduled.
func (l *Loop) Step() bool {
	if len(l.queue) == 0 {
		return false
	}
	t := heap.Pop(&l.queue).(*Timer)
	l.now = t.at
	t.executed = true
	l.executed++
	t.fn()
	return true
}

// RunUntil runs callbacks in order until the next one is due after t, the queue is empty or
// Halt is called, then sets the clock to t (unless halted).
func (l *Loop) RunUntil(t time.Time) {
	l.stopped = false
	for len(l.queue) > 0 && !l.stopped {
		if l.queue[0].at.After(t) {
			break
		}
		l.Step()
	}
	if !l.stopped && l.now.Before(t) {
		l.now = t
	}
}

// RunFor runs the loop for d of virtual time from now.
func (l *Loop) RunFor(d time.Duration) { l.RunUntil(l.now.Add(d)) }

// Halt makes the running RunUntil return after the current callback.
func (l *Loop) Halt() { l.stopped = true }

// timerHeap orders timers by (time, sequence).
type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
