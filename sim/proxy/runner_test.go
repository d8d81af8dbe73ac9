package proxy

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

// TestRunner: a request runs at once when the runner is idle; requests during a run or
// within minInterval of its end coalesce into one run at the end of the cool-down, as
// upstream's BoundedFrequencyRunner (1.34) does.
func TestRunner(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		min, cost time.Duration
		requests  []time.Duration
		want      []string // run start times
	}{
		{"idle runs at once", time.Second, 0, []time.Duration{0, 5 * time.Second}, []string{"0s", "5s"}},
		{"within cool-down coalesce", time.Second, 0, []time.Duration{0, 100 * ms, 200 * ms, 900 * ms}, []string{"0s", "1s"}},
		{"cool-down counts from the end of the run", time.Second, 300 * ms, []time.Duration{0, 100 * ms, 1200 * ms}, []string{"0s", "1.3s"}},
		{"after the cool-down at once", time.Second, 0, []time.Duration{0, 1500 * ms, 1600 * ms}, []string{"0s", "1.5s", "2.5s"}},
		{"no minimum", 0, 0, []time.Duration{0, 0, 10 * ms}, []string{"0s", "0s", "10ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := loop.New(1)
			var got []string
			r := newRunner(l, tt.min, func(done func()) {
				got = append(got, fmt.Sprint(l.Elapsed()))
				l.After(tt.cost, done)
			})
			for _, at := range tt.requests {
				l.At(loop.Epoch.Add(at), r.Run)
			}
			l.RunFor(time.Minute)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runs at %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRunnerReset: a reset drops the queued run and the cool-down.
func TestRunnerReset(t *testing.T) {
	l := loop.New(1)
	runs := 0
	r := newRunner(l, time.Second, func(done func()) { runs++; done() })
	r.Run()
	r.Run() // queued for 1s
	l.RunFor(100 * time.Millisecond)
	r.Reset()
	l.RunFor(2 * time.Second)
	if runs != 1 {
		t.Fatalf("%d runs after the reset, want 1", runs)
	}
	r.Run()
	if runs != 2 {
		t.Fatalf("a request after the reset did not run at once")
	}
}
