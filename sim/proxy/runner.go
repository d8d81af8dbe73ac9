package proxy

import (
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

// runner is upstream's BoundedFrequencyRunner (pkg/proxy/runner, Kubernetes 1.34) in
// virtual time: a Run request starts the work at once unless a run is in progress or
// minInterval has not passed since the last one ended; then the requests coalesce into one
// run at the earliest allowed instant. Upstream's periodic run every maxInterval is left
// out: it reprograms what is already programmed.
type runner struct {
	clock       loop.Clock
	minInterval time.Duration
	// start begins a run and calls done when it has finished.
	start func(done func())

	running bool
	queued  bool
	idleAt  time.Time // the end of the cool-down after the last run
	timer   *loop.Timer
	gen     uint64
}

func newRunner(clock loop.Clock, minInterval time.Duration, start func(done func())) *runner {
	return &runner{clock: clock, minInterval: minInterval, start: start}
}

// Run asks for a run as soon as allowed.
func (r *runner) Run() {
	if r.running || r.timer != nil {
		r.queued = true
		return
	}
	if now := r.clock.Now(); now.Before(r.idleAt) {
		r.queued = true
		r.wake(r.idleAt)
		return
	}
	r.run()
}

func (r *runner) run() {
	r.running, r.queued = true, false
	gen := r.gen
	r.start(func() {
		if gen != r.gen {
			return
		}
		r.running = false
		r.idleAt = r.clock.Now().Add(r.minInterval)
		if r.queued {
			r.wake(r.idleAt)
		}
	})
}

// wake runs the queued request at t.
func (r *runner) wake(t time.Time) {
	if r.timer != nil {
		return
	}
	gen := r.gen
	r.timer = r.clock.At(t, func() {
		if gen != r.gen {
			return
		}
		r.timer = nil
		if r.queued && !r.running {
			r.run()
		}
	})
}

// Reset forgets every run in progress or queued, as when kube-proxy restarts.
func (r *runner) Reset() {
	r.gen++
	r.timer.Stop()
	r.timer = nil
	r.running, r.queued = false, false
	r.idleAt = time.Time{}
}
