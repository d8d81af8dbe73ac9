package wallclock

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

func TestTimersFireByTheWallClock(t *testing.T) {
	l := loop.New(1)
	p := New(l)
	var fired []time.Duration
	start := time.Now()
	for _, d := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		l.After(d, func() { fired = append(fired, time.Since(start)) })
	}
	if err := p.RunFor(context.Background(), 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if len(fired) != 3 {
		t.Fatalf("fired %d timers, want 3", len(fired))
	}
	for i, want := range []time.Duration{10, 20, 30} {
		if fired[i] < want*time.Millisecond {
			t.Errorf("timer %d fired after %v, before its %dms", i, fired[i], want)
		}
	}
	if got := l.Elapsed(); got != 50*time.Millisecond {
		t.Errorf("loop at %v after RunFor(50ms), want 50ms", got)
	}
	if wall := time.Since(start); wall < 50*time.Millisecond {
		t.Errorf("RunFor(50ms) returned after %v of wall time", wall)
	}
}

func TestPostRunsOnTheLoopInOrder(t *testing.T) {
	l := loop.New(1)
	p := New(l)
	var got []int
	var at []time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(10 * time.Millisecond)
		for i := range 5 {
			p.Post(func() { got = append(got, i); at = append(at, l.Elapsed()) })
		}
	}()
	err := p.RunFor(context.Background(), time.Second, func() bool { return len(got) == 5 })
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != i {
			t.Fatalf("posted callbacks ran as %v, want in order", got)
		}
	}
	if at[0] < 10*time.Millisecond || at[0] > 500*time.Millisecond {
		t.Errorf("posted callback ran at virtual %v, want about when it arrived (10ms)", at[0])
	}
	if l.Elapsed() >= time.Second {
		t.Errorf("done did not stop the run: loop at %v", l.Elapsed())
	}
	if p.Posted() != 5 {
		t.Errorf("Posted = %d, want 5", p.Posted())
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	l := loop.New(1)
	p := New(l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.RunFor(ctx, time.Hour, nil); err != context.DeadlineExceeded {
		t.Fatalf("Run = %v, want the context's deadline", err)
	}
}

func TestVirtualTimeResumesWhereTheLoopStood(t *testing.T) {
	l := loop.New(1)
	p := New(l)
	if err := p.RunFor(context.Background(), 10*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	ran := time.Duration(0)
	l.After(5*time.Millisecond, func() { ran = l.Elapsed() })
	if err := p.RunFor(context.Background(), 10*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if ran != 15*time.Millisecond {
		t.Fatalf("timer ran at %v, want 15ms (the pause between runs does not count)", ran)
	}
}
