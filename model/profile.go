package model

// Workload usage profiles: what a simulated container does once started. A profile is
// read from the pod annotation orrery.dev/usage, whose value is YAML:
//
//	cpu: 250m                       # a constant (millicores), or one of the curves below
//	memory:
//	  ramp: {from: 64Mi, to: 512Mi, over: 10m}   # linear, then holds at `to`
//	# cpu/memory curves:
//	#   {constant: 200m}
//	#   {ramp: {from: Q, to: Q, over: DURATION}}
//	#   {spikes: {base: Q, peak: Q, every: DURATION, for: DURATION}}  # peak during the
//	#                                       last `for` of every `every`
//	#   {randomWalk: {start: Q, step: Q, every: DURATION, min: Q, max: Q}}
//	#                                       # +-uniform(step) each `every`, clamped
//	disk: {ramp: {from: 0, to: 2Gi, over: 1h}}  # local ephemeral storage (writable layer,
//	                                # logs, emptyDir), a curve like memory
//	startup: 2s                     # container start latency (runtime create + start)
//	runFor: 30s                     # exits by itself after this long; absent = runs forever
//	exitCode: 0                     # exit code at the end of runFor (default 0)
//	crashAfter: 5m                  # crashes after this long running
//	crashProbabilityPerHour: 0.1    # or: chance of crashing within any hour (memoryless)
//	crashExitCode: 1                # exit code of a crash (default 1)
//	readyAfter: 10s                 # readiness and startup probes succeed from then on
//	readinessFailsAfter: 1h         # readiness probes fail from then on
//	livenessFailsAfter: 2m          # liveness probes fail from then on
//	sigterm: 5s                     # exits (code 0) this long after SIGTERM; or `ignore`:
//	                                # killed (137) at the end of the grace period
//	containers:                     # per-container profiles; unset fields take the
//	  sidecar: {cpu: 10m}           # pod-level values above
//
// All times are measured from the container's start and restart with it. Memory usage
// reaching the container's memory limit is an OOM kill.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// UsageAnnotation is the pod annotation that holds a workload usage profile.
const UsageAnnotation = "orrery.dev/usage"

// Profile defaults, applied when a field is absent.
const (
	// DefaultCrashExitCode is the exit code of a crash.
	DefaultCrashExitCode = 1
	// SIGKILLExitCode is the exit code of a process killed by SIGKILL (OOM, grace expired).
	SIGKILLExitCode = 137
)

// UsageProfile is a pod's usage profile: a pod-level default and per-container overrides.
type UsageProfile struct {
	// ContainerProfile is the pod-level profile, the default of every container.
	ContainerProfile
	// Containers overrides fields per container name.
	Containers map[string]*ContainerProfile
}

// ContainerProfile is what one container does; nil fields are unset.
type ContainerProfile struct {
	// CPU is the CPU usage curve in millicores.
	CPU *Curve
	// Memory is the memory usage curve in bytes.
	Memory *Curve
	// Disk is the local ephemeral storage curve in bytes: the container's writable layer,
	// its logs and its share of emptyDir volumes.
	Disk *Curve
	// Startup is the container start latency.
	Startup *time.Duration
	// RunFor is how long the process runs before exiting by itself; nil runs forever.
	RunFor *time.Duration
	// ExitCode is the exit code at the end of RunFor.
	ExitCode *int32
	// CrashAfter is when the process crashes.
	CrashAfter *time.Duration
	// CrashProbabilityPerHour is the chance of a crash within any hour of running.
	CrashProbabilityPerHour *float64
	// CrashExitCode is the exit code of a crash.
	CrashExitCode *int32
	// ReadyAfter is when readiness and startup probes start to succeed.
	ReadyAfter *time.Duration
	// ReadinessFailsAfter is when readiness probes start to fail.
	ReadinessFailsAfter *time.Duration
	// LivenessFailsAfter is when liveness probes start to fail.
	LivenessFailsAfter *time.Duration
	// SIGTERM is how the process handles SIGTERM; nil exits promptly.
	SIGTERM *SIGTERMHandling
}

// SIGTERMHandling says how a process reacts to SIGTERM.
type SIGTERMHandling struct {
	// Ignore makes the process run on until SIGKILL at the end of the grace period.
	Ignore bool
	// After is how long the process takes to exit (code 0) after SIGTERM.
	After time.Duration
}

// CurveKind names the shape of a usage curve.
type CurveKind string

// The curve shapes.
const (
	CurveConstant   CurveKind = "constant"
	CurveRamp       CurveKind = "ramp"
	CurveSpikes     CurveKind = "spikes"
	CurveRandomWalk CurveKind = "randomWalk"
	CurveSteps      CurveKind = "steps"
)

// CurvePoint is one step of a steps curve: Value from At on.
type CurvePoint struct {
	At    time.Duration
	Value int64
}

// Curve is usage over time since the container started, in millicores or bytes.
type Curve struct {
	// Kind is the shape.
	Kind CurveKind
	// From is the constant value, the ramp's start, the spikes' base or the walk's start.
	From int64
	// To is the ramp's end or the spikes' peak.
	To int64
	// Over is the ramp's duration.
	Over time.Duration
	// Every is the spikes' period or the walk's step interval.
	Every time.Duration
	// For is how long each spike lasts (at the end of every period).
	For time.Duration
	// Step is the walk's largest change per interval.
	Step int64
	// Min and Max bound the walk.
	Min, Max int64
	// Steps are a steps curve's points, in increasing At; the value before the first is 0.
	Steps []CurvePoint
}

// For returns the profile of the named container: its own fields over the pod-level ones.
func (p *UsageProfile) For(container string) ContainerProfile {
	if p == nil {
		return ContainerProfile{}
	}
	out := p.ContainerProfile
	c := p.Containers[container]
	if c == nil {
		return out
	}
	if c.CPU != nil {
		out.CPU = c.CPU
	}
	if c.Memory != nil {
		out.Memory = c.Memory
	}
	if c.Disk != nil {
		out.Disk = c.Disk
	}
	pick := func(dst **time.Duration, src *time.Duration) {
		if src != nil {
			*dst = src
		}
	}
	pick(&out.Startup, c.Startup)
	pick(&out.RunFor, c.RunFor)
	pick(&out.CrashAfter, c.CrashAfter)
	pick(&out.ReadyAfter, c.ReadyAfter)
	pick(&out.ReadinessFailsAfter, c.ReadinessFailsAfter)
	pick(&out.LivenessFailsAfter, c.LivenessFailsAfter)
	if c.ExitCode != nil {
		out.ExitCode = c.ExitCode
	}
	if c.CrashExitCode != nil {
		out.CrashExitCode = c.CrashExitCode
	}
	if c.CrashProbabilityPerHour != nil {
		out.CrashProbabilityPerHour = c.CrashProbabilityPerHour
	}
	if c.SIGTERM != nil {
		out.SIGTERM = c.SIGTERM
	}
	return out
}

// ParseUsageProfile decodes an orrery.dev/usage annotation strictly: unknown fields and bad
// values are errors naming the field and line.
func ParseUsageProfile(s string) (*UsageProfile, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(s), &root); err != nil {
		return nil, fmt.Errorf("%s: %w", UsageAnnotation, err)
	}
	p := &UsageProfile{}
	if root.Kind == 0 || len(root.Content) == 0 {
		return p, nil
	}
	n := unalias(root.Content[0])
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return p, nil
	}
	pp := profileParser{}
	pp.container(n, "", &p.ContainerProfile, true, p)
	if len(pp.errs) > 0 {
		sortErrors(pp.errs)
		return nil, pp.errs
	}
	return p, nil
}

// profileParser collects field errors while walking the annotation's YAML.
type profileParser struct{ errs ErrorList }

func (pp *profileParser) fail(n *yaml.Node, field, format string, args ...any) {
	pp.errs = append(pp.errs, &FieldError{Line: n.Line, Field: field, Detail: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields walks a mapping, calling set for each known key and reporting unknown ones.
func (pp *profileParser) fields(n *yaml.Node, path string, known []string, set func(key string, v *yaml.Node, field string)) {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		field := path
		if field == "" {
			field = "<root>"
		}
		pp.fail(n, field, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := unalias(n.Content[i]), unalias(n.Content[i+1])
		field := join(path, k.Value)
		if seen[k.Value] {
			pp.fail(k, field, "duplicate field")
			continue
		}
		seen[k.Value] = true
		found := false
		for _, name := range known {
			if name == k.Value {
				found = true
				break
			}
		}
		if !found {
			pp.fail(k, field, "unknown field %q (known: %s)", k.Value, strings.Join(known, ", "))
			continue
		}
		set(k.Value, v, field)
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

var containerFields = []string{"cpu", "memory", "disk", "startup", "runFor", "exitCode", "crashAfter", "crashProbabilityPerHour", "crashExitCode", "readyAfter", "readinessFailsAfter", "livenessFailsAfter", "sigterm"}

func (pp *profileParser) container(n *yaml.Node, path string, c *ContainerProfile, top bool, p *UsageProfile) {
	known := containerFields
	if top {
		known = append(append([]string(nil), containerFields...), "containers")
	}
	pp.fields(n, path, known, func(key string, v *yaml.Node, field string) {
		switch key {
		case "cpu":
			c.CPU = pp.curve(v, field, true)
		case "memory":
			c.Memory = pp.curve(v, field, false)
		case "disk":
			c.Disk = pp.curve(v, field, false)
		case "startup":
			c.Startup = pp.durationPtr(v, field)
		case "runFor":
			c.RunFor = pp.durationPtr(v, field)
		case "crashAfter":
			c.CrashAfter = pp.durationPtr(v, field)
		case "readyAfter":
			c.ReadyAfter = pp.durationPtr(v, field)
		case "readinessFailsAfter":
			c.ReadinessFailsAfter = pp.durationPtr(v, field)
		case "livenessFailsAfter":
			c.LivenessFailsAfter = pp.durationPtr(v, field)
		case "exitCode":
			c.ExitCode = pp.exitCode(v, field)
		case "crashExitCode":
			c.CrashExitCode = pp.exitCode(v, field)
		case "crashProbabilityPerHour":
			f, err := strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || err != nil || f < 0 || f >= 1 || math.IsNaN(f) {
				pp.fail(v, field, "invalid probability %s: must be a number in [0, 1)", describe(v))
				return
			}
			c.CrashProbabilityPerHour = &f
		case "sigterm":
			if v.Kind == yaml.ScalarNode && v.Value == "ignore" {
				c.SIGTERM = &SIGTERMHandling{Ignore: true}
				return
			}
			if d := pp.durationPtr(v, field); d != nil {
				c.SIGTERM = &SIGTERMHandling{After: *d}
			}
		case "containers":
			if v.Kind != yaml.MappingNode {
				pp.fail(v, field, "expected a mapping of container names to profiles, got %s", describe(v))
				return
			}
			p.Containers = map[string]*ContainerProfile{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name := unalias(v.Content[j]).Value
				cp := &ContainerProfile{}
				pp.container(v.Content[j+1], join(field, name), cp, false, nil)
				p.Containers[name] = cp
			}
		}
	})
}

func (pp *profileParser) exitCode(v *yaml.Node, field string) *int32 {
	i, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || i < 0 || i > 255 {
		pp.fail(v, field, "invalid exit code %s: must be an integer in [0, 255]", describe(v))
		return nil
	}
	c := int32(i)
	return &c
}

func (pp *profileParser) duration(v *yaml.Node, field string) (time.Duration, bool) {
	if v.Kind != yaml.ScalarNode {
		pp.fail(v, field, "expected a duration such as 30s, got %s", describe(v))
		return 0, false
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		pp.fail(v, field, "invalid duration %q: expected a non-negative duration such as 30s or 5m", v.Value)
		return 0, false
	}
	return d, true
}

func (pp *profileParser) durationPtr(v *yaml.Node, field string) *time.Duration {
	if d, ok := pp.duration(v, field); ok {
		return &d
	}
	return nil
}

// quantity parses a resource quantity as millicores (cpu) or bytes (memory).
func (pp *profileParser) quantity(v *yaml.Node, field string, cpu bool) (int64, bool) {
	if v.Kind != yaml.ScalarNode {
		pp.fail(v, field, "expected a quantity such as 250m or 512Mi, got %s", describe(v))
		return 0, false
	}
	q, err := resource.ParseQuantity(v.Value)
	if err != nil || q.Sign() < 0 {
		pp.fail(v, field, "invalid quantity %q: expected a non-negative quantity such as 250m or 512Mi", v.Value)
		return 0, false
	}
	if cpu {
		return q.MilliValue(), true
	}
	return q.Value(), true
}

func (pp *profileParser) curve(n *yaml.Node, path string, cpu bool) *Curve {
	if n.Kind == yaml.ScalarNode {
		if v, ok := pp.quantity(n, path, cpu); ok {
			return &Curve{Kind: CurveConstant, From: v}
		}
		return nil
	}
	var c *Curve
	kinds := []string{string(CurveConstant), string(CurveRamp), string(CurveSpikes), string(CurveRandomWalk), string(CurveSteps)}
	before := len(pp.errs)
	pp.fields(n, path, kinds, func(key string, v *yaml.Node, field string) {
		if c != nil {
			pp.fail(v, field, "a curve has exactly one shape; %s is already given", c.Kind)
			return
		}
		c = &Curve{Kind: CurveKind(key)}
		q := func(v *yaml.Node, field string, dst *int64) {
			if x, ok := pp.quantity(v, field, cpu); ok {
				*dst = x
			}
		}
		d := func(v *yaml.Node, field string, dst *time.Duration) {
			if x, ok := pp.duration(v, field); ok {
				*dst = x
			}
		}
		switch c.Kind {
		case CurveConstant:
			q(v, field, &c.From)
		case CurveRamp:
			pp.required(v, field, "from", "to", "over")
			pp.fields(v, field, []string{"from", "to", "over"}, func(k string, v *yaml.Node, f string) {
				switch k {
				case "from":
					q(v, f, &c.From)
				case "to":
					q(v, f, &c.To)
				case "over":
					d(v, f, &c.Over)
				}
			})
			if c.Over <= 0 && len(pp.errs) == before {
				pp.fail(v, join(field, "over"), "must be positive")
			}
		case CurveSpikes:
			pp.required(v, field, "base", "peak", "every", "for")
			pp.fields(v, field, []string{"base", "peak", "every", "for"}, func(k string, v *yaml.Node, f string) {
				switch k {
				case "base":
					q(v, f, &c.From)
				case "peak":
					q(v, f, &c.To)
				case "every":
					d(v, f, &c.Every)
				case "for":
					d(v, f, &c.For)
				}
			})
			if len(pp.errs) == before && (c.Every <= 0 || c.For > c.Every) {
				pp.fail(v, join(field, "for"), "spikes need every > 0 and for <= every (got every %v, for %v)", c.Every, c.For)
			}
		case CurveSteps:
			v = unalias(v)
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				pp.fail(v, field, "expected a list of {at, value} steps")
				return
			}
			for i, item := range v.Content {
				f := fmt.Sprintf("%s[%d]", field, i)
				var pt CurvePoint
				pp.required(item, f, "at", "value")
				pp.fields(item, f, []string{"at", "value"}, func(k string, v *yaml.Node, f string) {
					switch k {
					case "at":
						d(v, f, &pt.At)
					case "value":
						q(v, f, &pt.Value)
					}
				})
				if len(c.Steps) > 0 && pt.At <= c.Steps[len(c.Steps)-1].At && len(pp.errs) == before {
					pp.fail(item, join(f, "at"), "steps must be in increasing time (%v after %v)", pt.At, c.Steps[len(c.Steps)-1].At)
				}
				c.Steps = append(c.Steps, pt)
			}
		case CurveRandomWalk:
			c.Max = math.MaxInt64
			pp.required(v, field, "start", "step", "every")
			pp.fields(v, field, []string{"start", "step", "every", "min", "max"}, func(k string, v *yaml.Node, f string) {
				switch k {
				case "start":
					q(v, f, &c.From)
				case "step":
					q(v, f, &c.Step)
				case "every":
					d(v, f, &c.Every)
				case "min":
					q(v, f, &c.Min)
				case "max":
					q(v, f, &c.Max)
				}
			})
			if len(pp.errs) == before && (c.Every <= 0 || c.Min > c.Max || c.From < c.Min || c.From > c.Max) {
				pp.fail(v, field, "a random walk needs every > 0 and min <= start <= max")
			}
		}
	})
	if c == nil && len(pp.errs) == before {
		pp.fail(n, path, "expected a quantity or one of %s", strings.Join(kinds, ", "))
	}
	if len(pp.errs) > before {
		return nil
	}
	return c
}

// required reports the keys missing from a mapping.
func (pp *profileParser) required(n *yaml.Node, path string, keys ...string) {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		return // fields reports it
	}
	have := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		have[unalias(n.Content[i]).Value] = true
	}
	for _, k := range keys {
		if !have[k] {
			pp.fail(n, join(path, k), "required field is missing")
		}
	}
}

// At returns the curve's value t after the start, for the curves that need no randomness
// (a random walk returns its start; use a Series for it).
func (c *Curve) At(t time.Duration) int64 {
	if c == nil {
		return 0
	}
	switch c.Kind {
	case CurveRamp:
		if t >= c.Over {
			return c.To
		}
		if t <= 0 {
			return c.From
		}
		return c.From + int64(float64(c.To-c.From)*float64(t)/float64(c.Over))
	case CurveSpikes:
		if t >= 0 && t%c.Every >= c.Every-c.For {
			return c.To
		}
	case CurveSteps:
		v := int64(0)
		for _, p := range c.Steps {
			if t < p.At {
				break
			}
			v = p.Value
		}
		return v
	}
	return c.From
}

// ParseCurve decodes one usage curve written as in the orrery.dev/usage annotation (a
// quantity, or one of constant, ramp, spikes, randomWalk, steps), for CPU (millicores) or
// memory (bytes); field names it in errors.
func ParseCurve(n *yaml.Node, field string, cpu bool) (*Curve, error) {
	pp := profileParser{}
	c := pp.curve(unalias(n), field, cpu)
	if len(pp.errs) > 0 {
		sortErrors(pp.errs)
		return nil, pp.errs
	}
	return c, nil
}

// Series evaluates one container's curve over time, drawing a random walk's steps from a
// caller-supplied stream. Queries must not go back in time before the last At.
type Series struct {
	curve *Curve
	rng   *rand.Rand
	first int     // step index of values[0]
	vals  []int64 // walk values of steps first, first+1, ...
}

// NewSeries returns the evaluator of c; rng is used only by random walks.
func NewSeries(c *Curve, rng *rand.Rand) *Series {
	s := &Series{curve: c, rng: rng}
	if c != nil && c.Kind == CurveRandomWalk {
		s.vals = []int64{c.From}
	}
	return s
}

// walk returns the random walk's value at step i, drawing steps as needed.
func (s *Series) walk(i int) int64 {
	if i < s.first {
		i = s.first
	}
	c := s.curve
	for len(s.vals) <= i-s.first {
		v := s.vals[len(s.vals)-1]
		delta := int64(0)
		if c.Step > 0 && s.rng != nil {
			delta = s.rng.Int64N(2*c.Step+1) - c.Step
		}
		v = min(max(v+delta, c.Min), c.Max)
		s.vals = append(s.vals, v)
	}
	return s.vals[i-s.first]
}

// At returns the value t after the start, forgetting the walk's steps before t.
func (s *Series) At(t time.Duration) int64 {
	c := s.curve
	if c == nil {
		return 0
	}
	if c.Kind != CurveRandomWalk {
		return c.At(t)
	}
	i := int(max(t, 0) / c.Every)
	v := s.walk(i)
	if drop := i - s.first; drop > 0 {
		s.vals = s.vals[drop:]
		s.first = i
	}
	return v
}

// FirstAtLeast returns the earliest time in [from, until) at which the value reaches
// limit, and whether there is one.
func (s *Series) FirstAtLeast(limit int64, from, until time.Duration) (time.Duration, bool) {
	c := s.curve
	if c == nil || from >= until {
		return 0, false
	}
	switch c.Kind {
	case CurveConstant:
		return from, c.From >= limit
	case CurveRamp:
		if c.At(from) >= limit {
			return from, true
		}
		if c.To < limit || c.To <= c.From {
			return 0, false
		}
		t := time.Duration(math.Ceil(float64(limit-c.From) * float64(c.Over) / float64(c.To-c.From)))
		for t > from && c.At(t-1) >= limit {
			t--
		}
		for c.At(t) < limit {
			t++
		}
		if t >= until {
			return 0, false
		}
		return t, true
	case CurveSpikes:
		if c.At(from) >= limit {
			return from, true
		}
		if c.To < limit {
			return 0, false
		}
		start := from - from%c.Every + c.Every - c.For
		if start < from {
			start += c.Every
		}
		if start >= until {
			return 0, false
		}
		return start, true
	case CurveSteps:
		if c.At(from) >= limit {
			return from, true
		}
		for _, p := range c.Steps {
			if p.At > from && p.At < until && p.Value >= limit {
				return p.At, true
			}
		}
		return 0, false
	case CurveRandomWalk:
		for i := int(max(from, 0) / c.Every); ; i++ {
			t := time.Duration(i) * c.Every
			if t >= until {
				return 0, false
			}
			if s.walk(i) >= limit {
				return max(t, from), true
			}
		}
	}
	return 0, false
}

// CrashAfterDraw returns when a container of this profile crashes by itself, if it does: the
// earlier of crashAfter and a draw from the exponential distribution that makes the
// chance of a crash within an hour crashProbabilityPerHour.
func (p ContainerProfile) CrashAfterDraw(rng *rand.Rand) (time.Duration, bool) {
	var at time.Duration
	ok := false
	if p.CrashAfter != nil {
		at, ok = *p.CrashAfter, true
	}
	if p.CrashProbabilityPerHour != nil && *p.CrashProbabilityPerHour > 0 && rng != nil {
		rate := -math.Log(1 - *p.CrashProbabilityPerHour) // crashes per hour
		hours := rng.ExpFloat64() / rate
		if d := time.Duration(hours * float64(time.Hour)); hours < float64(math.MaxInt64/int64(time.Hour)) && (!ok || d < at) {
			at, ok = d, true
		}
	}
	return at, ok
}

// PodProfile parses the usage annotation among a pod's annotations; a pod without one
// has an empty profile.
func PodProfile(annotations map[string]string) (*UsageProfile, error) {
	s, ok := annotations[UsageAnnotation]
	if !ok {
		return &UsageProfile{}, nil
	}
	return ParseUsageProfile(s)
}

// ContainerNames returns the names the profile has overrides for, sorted.
func (p *UsageProfile) ContainerNames() []string {
	out := make([]string, 0, len(p.Containers))
	for n := range p.Containers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
