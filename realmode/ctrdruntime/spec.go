package ctrdruntime

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/realmode/workload"
	"github.com/orrery-sim/orrery/sim/kubelet"
)

// WalkHorizon is how far ahead a random-walk curve is drawn for the workload (it holds
// its last value after that).
const WalkHorizon = time.Hour

// maxWalkPoints bounds a random walk's points in the workload's spec.
const maxWalkPoints = 4000

// WorkloadSpec translates a container's usage profile into what the workload program
// does, drawing from cfg.Rand exactly as the simulated runtime does (the CPU and memory
// curves' streams, the disk curve's when there is one, then the crash time), so a real
// run follows the same random walks and crash times as its simulated twin.
func WorkloadSpec(cfg kubelet.ContainerConfig, listen string) workload.Spec {
	rng := cfg.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(0, 0))
	}
	p := cfg.Profile
	cpuRand := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	memRand := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if p.Disk != nil {
		_, _ = rng.Uint64(), rng.Uint64()
	}
	s := workload.Spec{CPU: curve(p.CPU, cpuRand), Memory: curve(p.Memory, memRand), Listen: listen}
	set := false
	consider := func(d time.Duration, code int32) {
		if !set || d < s.ExitAfter {
			s.ExitAfter, s.ExitCode, set = d, int(code), true
		}
	}
	if p.RunFor != nil {
		code := int32(0)
		if p.ExitCode != nil {
			code = *p.ExitCode
		}
		consider(*p.RunFor, code)
	}
	if d, ok := p.CrashAfterDraw(rng); ok {
		code := int32(model.DefaultCrashExitCode)
		if p.CrashExitCode != nil {
			code = *p.CrashExitCode
		}
		consider(d, code)
	}
	if set && s.ExitAfter <= 0 {
		s.ExitAfter = time.Nanosecond // exits at once
	}
	if p.ReadyAfter != nil {
		s.ReadyAfter = *p.ReadyAfter
	}
	if p.ReadinessFailsAfter != nil {
		s.ReadinessFailsAfter = max(*p.ReadinessFailsAfter, time.Nanosecond)
	}
	if p.LivenessFailsAfter != nil {
		s.LivenessFailsAfter = max(*p.LivenessFailsAfter, time.Nanosecond)
	}
	s.SIGTERMAfter = kubelet.DefaultSIGTERMExitLatency
	if t := p.SIGTERM; t != nil {
		s.IgnoreSIGTERM, s.SIGTERMAfter = t.Ignore, t.After
	}
	return s
}

// curve translates a usage curve into the workload's points.
func curve(c *model.Curve, rng *rand.Rand) workload.Curve {
	if c == nil {
		return workload.Curve{}
	}
	pt := func(at time.Duration, v int64) workload.Point { return workload.Point{At: at, Value: v} }
	switch c.Kind {
	case model.CurveRamp:
		return workload.Curve{Points: []workload.Point{pt(0, c.From), pt(c.Over, c.To)}}
	case model.CurveSpikes:
		rise := c.Every - c.For
		return workload.Curve{Points: []workload.Point{pt(0, c.From), pt(rise, c.From), pt(rise, c.To), pt(c.Every, c.To)}, Period: c.Every}
	case model.CurveSteps:
		out := workload.Curve{Points: []workload.Point{pt(0, 0)}}
		prev := int64(0)
		for _, s := range c.Steps {
			out.Points = append(out.Points, pt(s.At, prev), pt(s.At, s.Value))
			prev = s.Value
		}
		return out
	case model.CurveRandomWalk:
		series := model.NewSeries(c, rng)
		out := workload.Curve{Points: []workload.Point{pt(0, series.At(0))}}
		n := min(int(WalkHorizon/c.Every), maxWalkPoints)
		for i := 1; i <= n; i++ {
			at := time.Duration(i) * c.Every
			prev := out.Points[len(out.Points)-1].Value
			out.Points = append(out.Points, pt(at, prev), pt(at, series.At(at)))
		}
		return out
	}
	return workload.Curve{Points: []workload.Point{pt(0, c.From)}}
}

// Limits are a container's resources as the kubelet gives them to the runtime: CFS quota
// from limits.cpu, shares from requests.cpu, the memory limit from limits.memory.
type Limits struct {
	// MemoryBytes is the memory limit (0: none).
	MemoryBytes int64
	// QuotaMicros is the CFS quota per CFSPeriod (0: none).
	QuotaMicros int64
	// Shares is the CPU weight (cgroup v1 shares; 2 at least).
	Shares uint64
}

// LimitsOf returns the container's limits.
func LimitsOf(c *corev1.Container) Limits {
	var l Limits
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		l.MemoryBytes = q.Value()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		l.QuotaMicros = max(q.MilliValue()*cfsPeriod/1000, 1000) // the kernel's minimum is 1 ms
	}
	req, ok := c.Resources.Requests[corev1.ResourceCPU]
	if !ok {
		req, ok = c.Resources.Limits[corev1.ResourceCPU]
	}
	l.Shares = 2
	if ok {
		l.Shares = max(uint64(req.MilliValue())*1024/1000, 2)
	}
	return l
}

// cfsPeriod is the CFS period of container CPU limits, in microseconds.
const cfsPeriod = 100000

// maxIDLen is containerd's limit on identifiers.
const maxIDLen = 76

// Identifier turns parts into a containerd identifier (namespace or container ID):
// letters and digits in runs joined by single separators, at most 76 characters.
func Identifier(parts ...string) string {
	var b strings.Builder
	sep := false
	for i, p := range parts {
		if i > 0 {
			sep = true
		}
		for _, r := range p {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
			if !ok {
				sep = true
				continue
			}
			if sep && b.Len() > 0 {
				b.WriteByte('-')
			}
			sep = false
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > maxIDLen {
		s = strings.TrimRight(s[:maxIDLen], "-")
	}
	if s == "" {
		s = "x"
	}
	return s
}

// containerID is the containerd ID of the seq-th container a node runtime creates.
func containerID(cfg kubelet.ContainerConfig, seq uint64) string {
	pod, name := cfg.Pod.Name, cfg.Container.Name
	pod, name = pod[:min(len(pod), 40)], name[:min(len(name), 20)]
	return Identifier(pod, name, fmt.Sprint(cfg.Attempt), fmt.Sprint(seq))
}
