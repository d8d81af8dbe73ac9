// Package workload is what runs inside every real-mode container: a small program that
// follows a pod's usage profile — burns CPU, holds memory (ramping past its limit to be
// OOM-killed), exits with a code after a while, delays or ignores SIGTERM, and answers
// HTTP probes. It uses only the standard library, so its binary is static and tiny; the
// runtime translates a model.ContainerProfile into a Spec and passes it in the
// environment.
package workload

import (
	"encoding/json"
	"fmt"
	"time"
)

// EnvSpec is the environment variable that holds the JSON-encoded Spec.
const EnvSpec = "ORRERY_WORKLOAD"

// Probe paths the workload serves: 200 when the probe succeeds, 503 when it fails.
const (
	PathStartup   = "/startupz"
	PathReadiness = "/readyz"
	PathLiveness  = "/livez"
	// PathCrash makes the process exit at once with the code in its query (?code=N).
	PathCrash = "/crash"
)

// Spec is what one workload process does; times count from the process's start.
type Spec struct {
	// CPU is the CPU to burn, in millicores.
	CPU Curve `json:"cpu,omitempty"`
	// Memory is the memory to hold, in bytes (the process's whole footprint).
	Memory Curve `json:"memory,omitempty"`
	// ExitAfter, when positive, makes the process exit with ExitCode then.
	ExitAfter time.Duration `json:"exitAfter,omitempty"`
	ExitCode  int           `json:"exitCode,omitempty"`
	// ReadyAfter is when startup and readiness probes start to succeed.
	ReadyAfter time.Duration `json:"readyAfter,omitempty"`
	// ReadinessFailsAfter and LivenessFailsAfter, when positive, are when those probes
	// start to fail.
	ReadinessFailsAfter time.Duration `json:"readinessFailsAfter,omitempty"`
	LivenessFailsAfter  time.Duration `json:"livenessFailsAfter,omitempty"`
	// IgnoreSIGTERM keeps the process running after SIGTERM (until SIGKILL).
	IgnoreSIGTERM bool `json:"ignoreSigterm,omitempty"`
	// SIGTERMAfter is how long the process takes to exit (code 0) after SIGTERM.
	SIGTERMAfter time.Duration `json:"sigtermAfter,omitempty"`
	// Listen is the address to serve probes on ("" serves none).
	Listen string `json:"listen,omitempty"`
}

// Point is a curve's value at one time.
type Point struct {
	At    time.Duration `json:"at"`
	Value int64         `json:"v"`
}

// Curve is a value over time: linear between consecutive points, the later value where
// two points share a time (a step), the last value after the last point. With a Period
// the curve repeats: its value at t is its value at t modulo Period.
type Curve struct {
	Points []Point       `json:"points,omitempty"`
	Period time.Duration `json:"period,omitempty"`
}

// At returns the curve's value at t (0 for an empty curve).
func (c Curve) At(t time.Duration) int64 {
	if len(c.Points) == 0 {
		return 0
	}
	if c.Period > 0 && t >= c.Period {
		t %= c.Period
	}
	if t < c.Points[0].At {
		return c.Points[0].Value
	}
	for i := len(c.Points) - 1; i >= 0; i-- {
		p := c.Points[i]
		if p.At > t {
			continue
		}
		if i == len(c.Points)-1 || p.At == t {
			return p.Value
		}
		q := c.Points[i+1]
		if q.At == p.At {
			return q.Value
		}
		frac := float64(t-p.At) / float64(q.At-p.At)
		return p.Value + int64(frac*float64(q.Value-p.Value))
	}
	return c.Points[0].Value
}

// Max returns the curve's largest value.
func (c Curve) Max() int64 {
	m := int64(0)
	for _, p := range c.Points {
		m = max(m, p.Value)
	}
	return m
}

// Encode returns the spec as the value of EnvSpec.
func (s Spec) Encode() string {
	b, _ := json.Marshal(s) // a Spec has nothing that fails to marshal
	return string(b)
}

// Decode reads a spec from the value of EnvSpec.
func Decode(v string) (Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", EnvSpec, err)
	}
	for _, c := range []struct {
		name string
		c    Curve
	}{{"cpu", s.CPU}, {"memory", s.Memory}} {
		for i := 1; i < len(c.c.Points); i++ {
			if c.c.Points[i].At < c.c.Points[i-1].At {
				return Spec{}, fmt.Errorf("%s: %s.points[%d]: time goes back", EnvSpec, c.name, i)
			}
		}
	}
	return s, nil
}
