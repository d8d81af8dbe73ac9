package controllers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

// TestAddRateLimited: rate-limited adds wait the longer of the key's exponential back-off
// and the overall bucket: the first 100 (the burst) only the 5 ms base delay, the next one
// 100 ms per token at 10 per second.
func TestAddRateLimited(t *testing.T) {
	l := loop.New(1)
	at := map[string]time.Duration{}
	q := NewQueue(l, func(key string) error { at[key] = l.Elapsed(); return nil })
	for i := 0; i < 103; i++ {
		q.AddRateLimited(fmt.Sprint(i))
	}
	l.RunFor(time.Minute)
	want := map[string]time.Duration{"0": 5 * time.Millisecond, "99": 5 * time.Millisecond, "100": 100 * time.Millisecond, "101": 200 * time.Millisecond, "102": 300 * time.Millisecond}
	for k, w := range want {
		if at[k] != w {
			t.Errorf("key %s processed at %v, want %v", k, at[k], w)
		}
	}
}

// TestRetryBackOff: a failing key is retried after 5, 10, 20 ms …; a success forgets it.
func TestRetryBackOff(t *testing.T) {
	l := loop.New(1)
	var tries []time.Duration
	q := NewQueue(l, func(string) error {
		tries = append(tries, l.Elapsed())
		if len(tries) < 4 {
			return errors.New("conflict")
		}
		return nil
	})
	q.Add("k")
	l.RunFor(time.Second)
	want := []time.Duration{0, 5 * time.Millisecond, 15 * time.Millisecond, 35 * time.Millisecond}
	if fmt.Sprint(tries) != fmt.Sprint(want) {
		t.Fatalf("tries at %v, want %v", tries, want)
	}
	if len(q.failures) != 0 {
		t.Errorf("failures not forgotten after the success: %v", q.failures)
	}
	q.AddRateLimited("k")
	l.RunFor(time.Second)
	if got := tries[len(tries)-1]; got != time.Second+5*time.Millisecond {
		t.Errorf("after a success the back-off starts over: processed at %v, want 1.005s", got)
	}
}
