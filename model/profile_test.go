package model

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseUsageProfile(t *testing.T) {
	p, err := ParseUsageProfile(`
cpu: 250m
memory: {ramp: {from: 64Mi, to: 128Mi, over: 1m}}
startup: 2s
runFor: 30s
exitCode: 3
crashProbabilityPerHour: 0.5
readyAfter: 10s
livenessFailsAfter: 2m
sigterm: ignore
containers:
  side:
    cpu: {spikes: {base: 10m, peak: 1, every: 1m, for: 10s}}
    sigterm: 5s
    memory: {randomWalk: {start: 10Mi, step: 1Mi, every: 10s, max: 20Mi}}
    disk: 1Gi
`)
	if err != nil {
		t.Fatal(err)
	}
	if p.CPU.Kind != CurveConstant || p.CPU.From != 250 || p.Memory.Kind != CurveRamp || p.Memory.To != 128<<20 || p.Memory.Over != time.Minute {
		t.Fatalf("curves: %+v %+v", p.CPU, p.Memory)
	}
	if *p.Startup != 2*time.Second || *p.RunFor != 30*time.Second || *p.ExitCode != 3 || *p.CrashProbabilityPerHour != 0.5 || !p.SIGTERM.Ignore {
		t.Fatalf("scalars: %+v", p.ContainerProfile)
	}
	side := p.For("side")
	if side.CPU.Kind != CurveSpikes || side.CPU.To != 1000 || side.SIGTERM.Ignore || side.SIGTERM.After != 5*time.Second || *side.RunFor != 30*time.Second {
		t.Fatalf("side: %+v", side)
	}
	if side.Memory.Kind != CurveRandomWalk || side.Memory.Max != 20<<20 || side.Memory.Min != 0 {
		t.Fatalf("walk: %+v", side.Memory)
	}
	if side.Disk == nil || side.Disk.Kind != CurveConstant || side.Disk.From != 1<<30 {
		t.Fatalf("disk: %+v", side.Disk)
	}
	if main := p.For("main"); main.CPU.From != 250 || !main.SIGTERM.Ignore || main.Disk != nil {
		t.Fatalf("main: %+v", main)
	}
}

func TestParseUsageProfileErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`cpu: 2x`, `line 1: cpu: invalid quantity "2x"`},
		{`cpux: 1`, `line 1: cpux: unknown field "cpux"`},
		{"memory:\n  ramp: {from: 1Mi, to: 2Mi}", `line 2: memory.ramp.over: required field is missing`},
		{"memory: {ramp: {from: 1Mi, to: 2Mi, over: 5x}}", `memory.ramp.over: invalid duration "5x"`},
		{"cpu: {ramp: {from: 1, to: 2, over: 1s}, constant: 1}", `cpu.constant: a curve has exactly one shape`},
		{"exitCode: 300", `exitCode: invalid exit code "300"`},
		{"crashProbabilityPerHour: 1", `crashProbabilityPerHour: invalid probability "1"`},
		{"sigterm: never", `sigterm: invalid duration "never"`},
		{"containers:\n  app:\n    runFor: soon", `line 3: containers.app.runFor: invalid duration "soon"`},
		{"containers:\n  app:\n    containers: {}", `containers.app.containers: unknown field "containers"`},
		{"cpu: {spikes: {base: 1, peak: 2, every: 1s, for: 2s}}", `cpu.spikes.for: spikes need every > 0 and for <= every`},
		{"- 1", `<root>: expected a mapping`},
		{"cpu: {steps: [{at: 1m, value: 1}, {at: 30s, value: 2}]}", `cpu.steps[1].at: steps must be in increasing time`},
		{"cpu: {steps: [{at: 1m}]}", `cpu.steps[0].value: required field is missing`},
		{"cpu: {steps: {at: 1m, value: 1}}", `cpu.steps: expected a list of {at, value} steps`},
		{"cpu: [1]", `cpu: expected a mapping, got a list`},
		{"disk: {ramp: {from: 0, to: 1Gx, over: 1h}}", `line 1: disk.ramp.to: invalid quantity "1Gx"`},
	}
	for _, c := range cases {
		_, err := ParseUsageProfile(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
	if p, err := ParseUsageProfile(""); err != nil || p.CPU != nil {
		t.Errorf("empty: %v %+v", err, p)
	}
}

func TestCurves(t *testing.T) {
	ramp := &Curve{Kind: CurveRamp, From: 100, To: 300, Over: 200 * time.Second}
	spikes := &Curve{Kind: CurveSpikes, From: 10, To: 90, Every: time.Minute, For: 10 * time.Second}
	steps := &Curve{Kind: CurveSteps, Steps: []CurvePoint{{0, 100}, {time.Minute, 300}, {10 * time.Minute, 100}}}
	cases := []struct {
		c    *Curve
		at   time.Duration
		want int64
	}{
		{ramp, 0, 100}, {ramp, 100 * time.Second, 200}, {ramp, time.Hour, 300},
		{spikes, 49 * time.Second, 10}, {spikes, 50 * time.Second, 90}, {spikes, 60 * time.Second, 10}, {spikes, 119 * time.Second, 90},
		{&Curve{Kind: CurveConstant, From: 7}, time.Hour, 7},
		{steps, 59 * time.Second, 100}, {steps, time.Minute, 300}, {steps, 10*time.Minute - 1, 300}, {steps, time.Hour, 100},
		{&Curve{Kind: CurveSteps, Steps: []CurvePoint{{time.Minute, 5}}}, 0, 0},
	}
	for _, c := range cases {
		if got := NewSeries(c.c, nil).At(c.at); got != c.want {
			t.Errorf("%s at %v = %d, want %d", c.c.Kind, c.at, got, c.want)
		}
	}
	first := []struct {
		c           *Curve
		limit       int64
		from, until time.Duration
		want        time.Duration
		ok          bool
	}{
		{ramp, 200, 0, time.Hour, 100 * time.Second, true},
		{ramp, 200, 150 * time.Second, time.Hour, 150 * time.Second, true},
		{ramp, 301, 0, time.Hour, 0, false},
		{ramp, 200, 0, 50 * time.Second, 0, false},
		{spikes, 50, 0, time.Hour, 50 * time.Second, true},
		{spikes, 50, 55 * time.Second, time.Hour, 55 * time.Second, true},
		{spikes, 50, 61 * time.Second, time.Hour, 110 * time.Second, true},
		{spikes, 5, 61 * time.Second, time.Hour, 61 * time.Second, true},
		{spikes, 91, 0, time.Hour, 0, false},
		{steps, 200, 0, time.Hour, time.Minute, true},
		{steps, 200, 2 * time.Minute, time.Hour, 2 * time.Minute, true},
		{steps, 200, 0, 30 * time.Second, 0, false},
		{steps, 301, 0, time.Hour, 0, false},
	}
	for _, c := range first {
		got, ok := NewSeries(c.c, nil).FirstAtLeast(c.limit, c.from, c.until)
		if got != c.want || ok != c.ok {
			t.Errorf("%s >= %d from %v: %v %v, want %v %v", c.c.Kind, c.limit, c.from, got, ok, c.want, c.ok)
		}
	}
}

func TestParseCurve(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("steps: [{at: 0s, value: 200m}, {at: 1m, value: 1500m}]"), &n); err != nil {
		t.Fatal(err)
	}
	c, err := ParseCurve(n.Content[0], "spec.load[0].cpu", true)
	if err != nil || c.Kind != CurveSteps || len(c.Steps) != 2 || c.Steps[1].Value != 1500 || c.Steps[1].At != time.Minute {
		t.Fatalf("%+v %v", c, err)
	}
	if err := yaml.Unmarshal([]byte("ramp: {from: 1}"), &n); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCurve(n.Content[0], "spec.load[0].cpu", true); err == nil || !strings.Contains(err.Error(), "spec.load[0].cpu.ramp.to: required field is missing") {
		t.Errorf("error %v", err)
	}
}

func TestRandomWalkSeeded(t *testing.T) {
	walk := &Curve{Kind: CurveRandomWalk, From: 100, Step: 10, Every: 10 * time.Second, Min: 50, Max: 150}
	a := NewSeries(walk, rand.New(rand.NewPCG(1, 2)))
	b := NewSeries(walk, rand.New(rand.NewPCG(1, 2)))
	// b looks ahead first: the values must not depend on the order of queries.
	at, ok := b.FirstAtLeast(120, 0, 24*time.Hour)
	if !ok {
		t.Fatal("a walk over a day never reached 120")
	}
	changed := false
	for i := 0; i < 100; i++ {
		d := time.Duration(i) * 5 * time.Second
		va, vb := a.At(d), b.At(d)
		if va != vb || va < 50 || va > 150 {
			t.Fatalf("at %v: %d vs %d", d, va, vb)
		}
		if va != 100 {
			changed = true
		}
		if d < at && va >= 120 {
			t.Fatalf("value %d at %v before the first crossing at %v", va, d, at)
		}
	}
	fresh := NewSeries(walk, rand.New(rand.NewPCG(1, 2)))
	if before, then := fresh.At(at-walk.Every), fresh.At(at); !changed || then < 120 || before >= 120 {
		t.Fatalf("walk did not move or crossing wrong: %d then %d at %v", before, then, at)
	}
	if NewSeries(walk, nil).At(0) != 100 {
		t.Fatal("start")
	}
}

func TestCrashAfterDraw(t *testing.T) {
	after := 5 * time.Minute
	if d, ok := (ContainerProfile{CrashAfter: &after}).CrashAfterDraw(nil); !ok || d != after {
		t.Fatalf("crashAfter: %v %v", d, ok)
	}
	if _, ok := (ContainerProfile{}).CrashAfterDraw(rand.New(rand.NewPCG(1, 1))); ok {
		t.Fatal("no crash configured")
	}
	p := 0.5
	rng := rand.New(rand.NewPCG(3, 4))
	within := 0
	for i := 0; i < 4000; i++ {
		if d, ok := (ContainerProfile{CrashProbabilityPerHour: &p}).CrashAfterDraw(rng); ok && d < time.Hour {
			within++
		}
	}
	if within < 1800 || within > 2200 { // P(crash within an hour) = 0.5
		t.Fatalf("%d of 4000 crashed within an hour, want about 2000", within)
	}
}
