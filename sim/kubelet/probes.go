package kubelet

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/loop"
)

// Probe defaults, as upstream's API defaulting sets them.
const (
	DefaultProbePeriod           = 10 * time.Second
	DefaultProbeTimeout          = 1 * time.Second
	DefaultProbeSuccessThreshold = 1
	DefaultProbeFailureThreshold = 3
)

// prober runs one probe of one container instance, as upstream's prober worker: a probe
// every period from initialDelaySeconds after the container started; the result changes
// after successThreshold (failureThreshold) consecutive successes (failures).
type prober struct {
	typ    ProbeType
	spec   *corev1.Probe
	timer  *loop.Timer
	lastOK bool
	run    int
	onHold bool
}

func (p *prober) period() time.Duration {
	if p.spec.PeriodSeconds > 0 {
		return time.Duration(p.spec.PeriodSeconds) * time.Second
	}
	return DefaultProbePeriod
}

func (p *prober) thresholds() (success, failure int) {
	success, failure = DefaultProbeSuccessThreshold, DefaultProbeFailureThreshold
	if p.spec.SuccessThreshold > 0 {
		success = int(p.spec.SuccessThreshold)
	}
	if p.spec.FailureThreshold > 0 {
		failure = int(p.spec.FailureThreshold)
	}
	return success, failure
}

// startProbes starts the container's startup, liveness and readiness probes: the first at
// initialDelaySeconds after the container started, or at once for a container that
// started longer ago (adopted after a kubelet restart).
func (w *podWorker) startProbes(c *container) {
	w.stopProbes(c)
	now := w.k.clock.Now()
	for _, pr := range []struct {
		t ProbeType
		s *corev1.Probe
	}{{ProbeStartup, c.spec.StartupProbe}, {ProbeLiveness, c.spec.LivenessProbe}, {ProbeReadiness, c.spec.ReadinessProbe}} {
		if pr.s == nil {
			continue
		}
		p := &prober{typ: pr.t, spec: pr.s}
		c.probes = append(c.probes, p)
		w.scheduleProbe(c, p, max(c.startedAt.Add(time.Duration(pr.s.InitialDelaySeconds)*time.Second).Sub(now), 0))
	}
}

func (w *podWorker) stopProbes(c *container) {
	for _, p := range c.probes {
		p.timer.Stop()
	}
	c.probes = nil
}

func (w *podWorker) scheduleProbe(c *container, p *prober, d time.Duration) {
	id := c.id
	p.timer = w.k.after(d, func() {
		if !w.current() || c.id != id || c.phase != cRunning || c.stopping != nil {
			return
		}
		w.scheduleProbe(c, p, p.period())
		if p.onHold || (p.typ != ProbeStartup && !c.started) || (p.typ == ProbeStartup && c.started) {
			return
		}
		w.k.runtime.Probe(id, p.typ, func(ok bool) {
			if w.current() && c.id == id && c.phase == cRunning && c.stopping == nil {
				w.probeResult(c, p, ok)
			}
		})
	})
}

// probeResult records one probe outcome and acts when the result changes.
func (w *podWorker) probeResult(c *container, p *prober, ok bool) {
	k := w.k
	if !ok {
		_ = k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventUnhealthy, "%s probe failed: %s", p.typ, probeFailure(w, p.spec))
	}
	if p.run > 0 && ok == p.lastOK {
		p.run++
	} else {
		p.lastOK, p.run = ok, 1
	}
	success, failure := p.thresholds()
	if (ok && p.run < success) || (!ok && p.run < failure) {
		return
	}
	switch p.typ {
	case ProbeStartup:
		if ok {
			c.started = true
			c.ready = c.spec.ReadinessProbe == nil
			w.queueStatus()
			w.sync() // the next init container may start
			return
		}
		w.killUnhealthy(c, p, "startup")
	case ProbeReadiness:
		if c.ready != ok {
			c.ready = ok
			w.queueStatus()
		}
	case ProbeLiveness:
		if !ok {
			w.killUnhealthy(c, p, "liveness")
		}
	}
}

// killUnhealthy kills a container whose liveness or startup probe failed; it restarts
// unless the pod's restartPolicy is Never.
func (w *podWorker) killUnhealthy(c *container, p *prober, kind string) {
	p.onHold, p.run = true, 0
	grace := gracePeriod(w.pod)
	if p.spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*p.spec.TerminationGracePeriodSeconds) * time.Second
	}
	msg := fmt.Sprintf("Container %s failed %s probe", c.spec.Name, kind)
	if w.pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		msg += ", will be restarted"
	}
	w.k.log.Action(w.k.user, EventKilling, "pods", w.pod.Namespace, w.pod.Name, msg)
	c.forceRestart = true
	w.kill(c, grace, msg, func() {
		c.forceRestart = w.pod.Spec.RestartPolicy != corev1.RestartPolicyNever
		w.queueStatus()
		w.sync()
	})
}

// probeFailure is the output a failed probe of this kind reports.
func probeFailure(w *podWorker, p *corev1.Probe) string {
	switch {
	case p.HTTPGet != nil:
		return "HTTP probe failed with statuscode: 503"
	case p.TCPSocket != nil:
		return fmt.Sprintf("dial tcp %s:%s: connect: connection refused", w.ip, p.TCPSocket.Port.String())
	case p.GRPC != nil:
		return `service unhealthy (responded with "NOT_SERVING")`
	}
	return ""
}
