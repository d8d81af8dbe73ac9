package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/loop"
)

// Runtime is what the kubelet asks of a container runtime. Every call returns at once; its
// outcome arrives through the callback, scheduled on the loop (in virtual time for the
// simulated runtime, as external events for a real one).
type Runtime interface {
	// PullImage makes the image present on the node.
	PullImage(image string, policy corev1.PullPolicy, done func(err error))
	// StartContainer starts a container; started is called when it runs and exited when
	// its process ends by itself.
	StartContainer(id string, c *corev1.Container, started func(), exited func(code int32, reason string))
	// StopContainer sends SIGTERM, then SIGKILL after grace; done is called with the exit
	// code once the process is gone.
	StopContainer(id string, grace time.Duration, done func(code int32))
	// KillAll removes every container at once, as a node crash does.
	KillAll()
}

// Simulated runtime latencies (defaults; a pod's usage profile refines them later).
const (
	DefaultImagePullLatency      = 2 * time.Second
	DefaultContainerStartLatency = 500 * time.Millisecond
	DefaultSIGTERMExitLatency    = 100 * time.Millisecond
)

// SimRuntime is a container runtime in virtual time: images take a fixed time to pull once
// per node, containers take a fixed time to start, run until stopped, and exit shortly
// after SIGTERM.
type SimRuntime struct {
	clock      loop.Clock
	images     map[string]bool
	pulling    map[string][]func(error)
	containers map[string]*simContainer
	gen        uint64
	// PullLatency, StartLatency and TermLatency override the defaults when set.
	PullLatency, StartLatency, TermLatency time.Duration
}

type simContainer struct {
	timers []*loop.Timer
}

// NewSimRuntime returns a simulated runtime with the given images already present.
func NewSimRuntime(clock loop.Clock, images ...string) *SimRuntime {
	r := &SimRuntime{clock: clock, images: map[string]bool{}, pulling: map[string][]func(error){}, containers: map[string]*simContainer{},
		PullLatency: DefaultImagePullLatency, StartLatency: DefaultContainerStartLatency, TermLatency: DefaultSIGTERMExitLatency}
	for _, img := range images {
		r.images[img] = true
	}
	return r
}

// PullImage pulls an absent image (or any image under PullAlways) once, however many
// containers wait for it.
func (r *SimRuntime) PullImage(image string, policy corev1.PullPolicy, done func(error)) {
	if r.images[image] && policy != corev1.PullAlways {
		r.clock.After(0, func() { done(nil) })
		return
	}
	if policy == corev1.PullNever {
		r.clock.After(0, func() { done(errImageNeverPull{image}) })
		return
	}
	waiting := r.pulling[image]
	r.pulling[image] = append(waiting, done)
	if len(waiting) > 0 {
		return
	}
	gen := r.gen
	r.clock.After(r.PullLatency, func() {
		if gen != r.gen {
			return
		}
		r.images[image] = true
		cbs := r.pulling[image]
		delete(r.pulling, image)
		for _, cb := range cbs {
			cb(nil)
		}
	})
}

type errImageNeverPull struct{ image string }

func (e errImageNeverPull) Error() string {
	return "Container image \"" + e.image + "\" is not present with pull policy of Never"
}

// StartContainer starts the container after the start latency; it runs until stopped.
func (r *SimRuntime) StartContainer(id string, _ *corev1.Container, started func(), _ func(int32, string)) {
	c := &simContainer{}
	r.containers[id] = c
	c.timers = append(c.timers, r.clock.After(r.StartLatency, started))
}

// StopContainer stops the container; it exits TermLatency after SIGTERM, or at the grace
// period if that is shorter.
func (r *SimRuntime) StopContainer(id string, grace time.Duration, done func(int32)) {
	c := r.containers[id]
	delete(r.containers, id)
	if c != nil {
		for _, t := range c.timers {
			t.Stop()
		}
	}
	d, code := r.TermLatency, int32(0)
	if grace < d {
		d, code = grace, 137 // SIGKILL
	}
	r.clock.After(d, func() { done(code) })
}

// KillAll drops every container and pending callback, keeping pulled images (they are on
// the node's disk).
func (r *SimRuntime) KillAll() {
	for _, c := range r.containers {
		for _, t := range c.timers {
			t.Stop()
		}
	}
	clear(r.containers)
	clear(r.pulling)
	r.gen++
}
