package loop

import (
	"testing"
	"time"
)

func TestOrderByTimeThenSequence(t *testing.T) {
	l := New(1)
	var got []string
	l.After(2*time.Second, func() { got = append(got, "b") })
	l.After(time.Second, func() { got = append(got, "a1") })
	l.After(time.Second, func() { got = append(got, "a2") })
	l.After(0, func() {
		got = append(got, "now")
		l.After(0, func() { got = append(got, "now-nested") })
	})
	l.RunFor(time.Minute)
	want := []string{"now", "now-nested", "a1", "a2", "b"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if l.Elapsed() != time.Minute {
		t.Fatalf("elapsed %v, want 1m", l.Elapsed())
	}
}

func TestStop(t *testing.T) {
	l := New(1)
	ran := 0
	a := l.After(time.Second, func() { ran++ })
	b := l.After(2*time.Second, func() { ran += 10 })
	l.After(3*time.Second, func() { ran += 100 })
	if !b.Stop() {
		t.Fatal("stopping a pending timer must report true")
	}
	if b.Stop() {
		t.Fatal("stopping twice must report false")
	}
	l.RunFor(10 * time.Second)
	if ran != 101 {
		t.Fatalf("ran = %d, want 101", ran)
	}
	if a.Stop() {
		t.Fatal("stopping an executed timer must report false")
	}
	var nilTimer *Timer
	if nilTimer.Stop() {
		t.Fatal("nil timer")
	}
}

func TestRunUntilLeavesLaterEvents(t *testing.T) {
	l := New(1)
	ran := false
	l.After(time.Hour, func() { ran = true })
	l.RunFor(time.Minute)
	if ran || l.Pending() != 1 || l.Elapsed() != time.Minute {
		t.Fatalf("ran=%v pending=%d elapsed=%v", ran, l.Pending(), l.Elapsed())
	}
	l.RunFor(time.Hour)
	if !ran {
		t.Fatal("event at 1h did not run")
	}
}

func TestPastTimeRunsNow(t *testing.T) {
	l := New(1)
	l.RunFor(time.Minute)
	var at time.Duration
	l.At(Epoch, func() { at = l.Elapsed() })
	l.RunFor(0)
	if at != time.Minute {
		t.Fatalf("ran at %v, want 1m", at)
	}
}

func TestRandStreamsIndependentAndSeeded(t *testing.T) {
	a, b := New(5), New(5)
	// Touching another stream first must not change this stream's sequence.
	b.Rand("other").Uint64()
	for i := 0; i < 10; i++ {
		if x, y := a.Rand("scheduler").Uint64(), b.Rand("scheduler").Uint64(); x != y {
			t.Fatalf("draw %d: %d != %d", i, x, y)
		}
	}
	c := New(6)
	if New(5).Rand("scheduler").Uint64() == c.Rand("scheduler").Uint64() {
		t.Fatal("different seeds gave the same first draw")
	}
	if New(5).Rand("scheduler").Uint64() == New(5).Rand("kubelet").Uint64() {
		t.Fatal("different streams gave the same first draw")
	}
}

func BenchmarkScheduleAndRun(b *testing.B) {
	l := New(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.After(time.Duration(i%100)*time.Millisecond, func() {})
		if i%64 == 63 {
			l.RunFor(50 * time.Millisecond)
		}
	}
	l.RunFor(time.Hour)
}

func TestNext(t *testing.T) {
	l := New(1)
	if _, ok := l.Next(); ok {
		t.Fatal("an empty loop has no next callback")
	}
	a := l.After(2*time.Second, func() {})
	l.After(3*time.Second, func() {})
	if at, ok := l.Next(); !ok || at != Epoch.Add(2*time.Second) {
		t.Fatalf("next = %v, %v; want 2s", at.Sub(Epoch), ok)
	}
	a.Stop()
	if at, ok := l.Next(); !ok || at != Epoch.Add(3*time.Second) {
		t.Fatalf("next after stop = %v, %v; want 3s", at.Sub(Epoch), ok)
	}
}
