package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/scenarios/snapshot"
	"github.com/orrery-sim/orrery/scenarios/synth"
	"github.com/orrery-sim/orrery/scenarios/trace"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/loop"
)

// SnapshotFile is spec.cluster.snapshot: a `kubectl get ... -A -o yaml` file, relative to
// the scenario file, whose nodes join the cluster and whose objects are applied at 0s.
type SnapshotFile struct {
	// File is the snapshot's path as written in the scenario.
	File string
	// snap is the imported snapshot, once loaded.
	snap *snapshot.Snapshot
}

// UnmarshalYAML reads the file name.
func (f *SnapshotFile) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: spec.cluster.snapshot: want a file name", n.Line)
	}
	return n.Decode(&f.File)
}

// Trace formats of spec.workloads[].trace.format.
const (
	FormatOpenB       = "openb"
	FormatAlibaba2018 = "alibaba-v2018"
	FormatGeneric     = "generic"
)

// Workload is one entry of spec.workloads: a trace to replay or a synthetic generator,
// whose pods are created at their arrival times and deleted at their departures.
type Workload struct {
	// Start delays every arrival of the workload by this much.
	Start *Duration `yaml:"start"`
	// Trace is an imported trace; Generator a synthetic workload. Exactly one is set.
	Trace     *TraceSpec     `yaml:"trace"`
	Generator *GeneratorSpec `yaml:"generator"`

	// nodes and arrivals are the trace's, once loaded; gen is the generator, once
	// validated.
	nodes    []*corev1.Node
	arrivals []trace.Arrival
	gen      *synth.Generator
}

// TraceSpec names a trace's files and how to replay it.
type TraceSpec struct {
	// Format is openb, alibaba-v2018 or generic.
	Format string `yaml:"format"`
	// Nodes (openb) is a node list whose nodes join the cluster; Pods (openb, generic) is
	// the pod list.
	Nodes string `yaml:"nodes"`
	Pods  string `yaml:"pods"`
	// MachineMeta, BatchTask, BatchInstance and ContainerMeta (alibaba-v2018) are the
	// trace's tables; machines join the cluster.
	MachineMeta   string `yaml:"machineMeta"`
	BatchTask     string `yaml:"batchTask"`
	BatchInstance string `yaml:"batchInstance"`
	ContainerMeta string `yaml:"containerMeta"`
	// MachineMemory (alibaba-v2018) is the memory a normalized size of 100 stands for.
	MachineMemory string `yaml:"machineMemory"`
	// Namespace and Image of the pods (default and registry.k8s.io/pause:3.10 if empty).
	Namespace string `yaml:"namespace"`
	Image     string `yaml:"image"`
	// MaxPods is the pods capacity of the trace's nodes (110 if 0).
	MaxPods int64 `yaml:"maxPods"`
	// SkipUnscheduled (openb) drops the pods the trace never scheduled.
	SkipUnscheduled bool `yaml:"skipUnscheduled"`
	// PriorityClasses (openb) maps a qos value to the priorityClassName of its pods.
	PriorityClasses map[string]string `yaml:"priorityClasses"`
	// Sample keeps each pod with this probability, Inflate adds clones up to this ratio,
	// TimeScale multiplies times and lifetimes; applied in that order.
	Sample    *float64 `yaml:"sample"`
	Inflate   *float64 `yaml:"inflate"`
	TimeScale *float64 `yaml:"timeScale"`
	// Protocol replaces the trace's own arrivals by the OpenB paper's protocol.
	Protocol *ProtocolSpec `yaml:"protocol"`
}

// ProtocolSpec is the OpenB paper's arrival protocol (see trace.Protocol): pods drawn
// with replacement, one per interval, until their GPU demand reaches target × the
// cluster's GPUs.
type ProtocolSpec struct {
	// Target is the demand to reach as a share of GPU capacity, e.g. 1.3.
	Target float64 `yaml:"target"`
	// Interval is the gap between arrivals (1s if absent).
	Interval *Duration `yaml:"interval"`
}

// GeneratorSpec is a seeded synthetic workload (see package synth).
type GeneratorSpec struct {
	// Arrivals is the arrival process.
	Arrivals ArrivalsSpec `yaml:"arrivals"`
	// Count stops after this many pods, Until before this time since the workload's start.
	Count int       `yaml:"count"`
	Until *Duration `yaml:"until"`
	// Shapes is a weighted list of pod sizes; or CPU (millicores) and Memory (MiB) are
	// drawn from distributions.
	Shapes []ShapeSpec `yaml:"shapes"`
	CPU    *DistSpec   `yaml:"cpu"`
	Memory *DistSpec   `yaml:"memory"`
	// Lifetime is a distribution in seconds; absent means pods stay to the end.
	Lifetime *DistSpec `yaml:"lifetime"`
	// Priorities is a weighted mix of priority classes.
	Priorities []PrioritySpec `yaml:"priorities"`
	// Namespace, Image, Prefix (pods are Prefix-0, Prefix-1, …) and Labels of the pods.
	Namespace string            `yaml:"namespace"`
	Image     string            `yaml:"image"`
	Prefix    string            `yaml:"prefix"`
	Labels    map[string]string `yaml:"labels"`
}

// ArrivalsSpec is an arrival process: exactly one of Poisson and OnOff.
type ArrivalsSpec struct {
	Poisson *PoissonSpec `yaml:"poisson"`
	OnOff   *OnOffSpec   `yaml:"onOff"`
}

// PoissonSpec is Poisson arrivals at Rate per second.
type PoissonSpec struct {
	Rate float64 `yaml:"rate"`
}

// OnOffSpec is bursty arrivals: OnRate per second for exponential periods of mean MeanOn,
// then OffRate for periods of mean MeanOff.
type OnOffSpec struct {
	OnRate  float64  `yaml:"onRate"`
	OffRate float64  `yaml:"offRate"`
	MeanOn  Duration `yaml:"meanOn"`
	MeanOff Duration `yaml:"meanOff"`
}

// ShapeSpec is one pod size of a weighted list.
type ShapeSpec struct {
	Weight float64 `yaml:"weight"`
	// CPU and Memory are quantities (requests = limits).
	CPU    string `yaml:"cpu"`
	Memory string `yaml:"memory"`
	// GPUMilli is GPU in thousandths (below 1000 a share, else whole GPUs); GPUModels
	// restricts the models.
	GPUMilli  int64    `yaml:"gpuMilli"`
	GPUModels []string `yaml:"gpuModels"`
}

// PrioritySpec is one priority class of a mix.
type PrioritySpec struct {
	Class  string  `yaml:"class"`
	Weight float64 `yaml:"weight"`
}

// DistSpec is a distribution: exactly one of its fields.
type DistSpec struct {
	Fixed       *float64         `yaml:"fixed"`
	Uniform     *UniformSpec     `yaml:"uniform"`
	Exponential *ExponentialSpec `yaml:"exponential"`
	LogNormal   *LogNormalSpec   `yaml:"logNormal"`
	Empirical   *EmpiricalSpec   `yaml:"empirical"`
}

// UniformSpec is uniform on [Min, Max).
type UniformSpec struct {
	Min float64 `yaml:"min"`
	Max float64 `yaml:"max"`
}

// ExponentialSpec is exponential of mean Mean.
type ExponentialSpec struct {
	Mean float64 `yaml:"mean"`
}

// LogNormalSpec is log-normal, given by Mu and Sigma of the logarithm or by its Mean and
// Std.
type LogNormalSpec struct {
	Mu    *float64 `yaml:"mu"`
	Sigma *float64 `yaml:"sigma"`
	Mean  *float64 `yaml:"mean"`
	Std   *float64 `yaml:"std"`
}

// EmpiricalSpec picks one of Values, weighted by Weights (equal if absent).
type EmpiricalSpec struct {
	Values  []float64 `yaml:"values"`
	Weights []float64 `yaml:"weights"`
}

// importsNodes reports whether the scenario takes nodes from files (a snapshot or a
// trace's node list), which are only known once loaded.
func (s *Scenario) importsNodes() bool {
	if s.Spec.Cluster.Snapshot.File != "" {
		return true
	}
	for _, w := range s.Spec.Workloads {
		if t := w.Trace; t != nil && (t.Nodes != "" || t.MachineMeta != "") {
			return true
		}
	}
	return false
}

// importedNodes returns copies of the snapshot's nodes, then of each trace's, in order.
func (s *Scenario) importedNodes() []*corev1.Node {
	var out []*corev1.Node
	if sn := s.Spec.Cluster.Snapshot.snap; sn != nil {
		for _, n := range sn.Nodes {
			out = append(out, n.DeepCopy())
		}
	}
	for _, w := range s.Spec.Workloads {
		for _, n := range w.nodes {
			out = append(out, n.DeepCopy())
		}
	}
	return out
}

// Warnings returns, one line each, what the snapshot importer skipped or changed in a way
// a user may not expect (empty before the scenario's files are loaded).
func (s *Scenario) Warnings() []string {
	sn := s.Spec.Cluster.Snapshot.snap
	if sn == nil {
		return nil
	}
	out := make([]string, 0, len(sn.Warnings))
	for _, n := range sn.Warnings {
		out = append(out, n.String())
	}
	return out
}

// validateWorkloads checks spec.workloads (without reading files) and builds the
// generators.
func (s *Scenario) validateWorkloads() model.ErrorList {
	var errs model.ErrorList
	prefixes := map[string]string{}
	for i := range s.Spec.Workloads {
		w := &s.Spec.Workloads[i]
		field := fmt.Sprintf("spec.workloads[%d]", i)
		if (w.Trace == nil) == (w.Generator == nil) {
			errs = append(errs, s.errorf(field, "Invalid value: a workload needs exactly one of trace or generator"))
			continue
		}
		if w.Trace != nil {
			errs = append(errs, s.validateTrace(field+".trace", w.Trace)...)
			continue
		}
		g, gerrs := s.buildGenerator(field+".generator", i, w.Generator)
		errs = append(errs, gerrs...)
		if g == nil {
			continue
		}
		key := g.Pod.Namespace + "/" + g.Prefix
		if prev, dup := prefixes[key]; dup {
			errs = append(errs, s.errorf(field+".generator.prefix", "Duplicate value: %q: %s names its pods the same in namespace %q", g.Prefix, prev, g.Pod.Namespace))
			continue
		}
		prefixes[key] = field
		w.gen = g
	}
	return errs
}

// validateTrace checks one trace entry: its format, the files that format reads, and
// the replay options.
func (s *Scenario) validateTrace(field string, t *TraceSpec) model.ErrorList {
	var errs model.ErrorList
	files := []struct {
		name, value string
		formats     []string
	}{
		{"nodes", t.Nodes, []string{FormatOpenB}},
		{"pods", t.Pods, []string{FormatOpenB, FormatGeneric}},
		{"machineMeta", t.MachineMeta, []string{FormatAlibaba2018}},
		{"batchTask", t.BatchTask, []string{FormatAlibaba2018}},
		{"batchInstance", t.BatchInstance, []string{FormatAlibaba2018}},
		{"containerMeta", t.ContainerMeta, []string{FormatAlibaba2018}},
	}
	formats := []string{FormatOpenB, FormatAlibaba2018, FormatGeneric}
	switch t.Format {
	case FormatOpenB, FormatGeneric:
		if t.Pods == "" {
			errs = append(errs, s.errorf(field+".pods", "Required value: the %s pod list", t.Format))
		}
	case FormatAlibaba2018:
		if t.BatchTask == "" && t.ContainerMeta == "" {
			errs = append(errs, s.errorf(field+".batchTask", "Required value: batchTask or containerMeta, the tables pods come from"))
		}
		if t.BatchInstance != "" && t.BatchTask == "" {
			errs = append(errs, s.errorf(field+".batchTask", "Required value: batchInstance needs its batchTask table for the requests"))
		}
	case "":
		errs = append(errs, s.errorf(field+".format", "Required value: one of %q", formats))
		return errs
	default:
		errs = append(errs, s.errorf(field+".format", "Unsupported value: %q: supported values: %q", t.Format, formats))
		return errs
	}
	only := func(name string, set bool, allowed ...string) {
		if !set {
			return
		}
		for _, f := range allowed {
			if f == t.Format {
				return
			}
		}
		errs = append(errs, s.errorf(field+"."+name, "Forbidden: only for format %s, not %s", strings.Join(allowed, " or "), t.Format))
	}
	for _, f := range files {
		only(f.name, f.value != "", f.formats...)
	}
	only("machineMemory", t.MachineMemory != "", FormatAlibaba2018)
	only("maxPods", t.MaxPods != 0, FormatOpenB, FormatAlibaba2018)
	only("skipUnscheduled", t.SkipUnscheduled, FormatOpenB)
	only("priorityClasses", len(t.PriorityClasses) > 0, FormatOpenB)
	if t.MachineMemory != "" {
		if q, err := resource.ParseQuantity(t.MachineMemory); err != nil || q.Sign() <= 0 {
			errs = append(errs, s.errorf(field+".machineMemory", "Invalid value: %q: want a positive quantity such as 100Gi", t.MachineMemory))
		}
	}
	if t.MaxPods < 0 {
		errs = append(errs, s.errorf(field+".maxPods", "Invalid value: %d: must be 0 (110) or more", t.MaxPods))
	}
	errs = append(errs, s.checkPodOptions(field, t.Namespace)...)
	for _, qos := range sortedKeys(t.PriorityClasses) {
		class := t.PriorityClasses[qos]
		for _, msg := range validation.IsDNS1123Subdomain(class) {
			errs = append(errs, s.errorf(field+".priorityClasses."+qos, "Invalid value: %q: %s", class, msg))
		}
	}
	if v := t.Sample; v != nil && !(*v > 0 && *v <= 1) {
		errs = append(errs, s.errorf(field+".sample", "Invalid value: %v: the share of pods to keep, in (0, 1]", *v))
	}
	if v := t.Inflate; v != nil && !(*v >= 1 && !math.IsInf(*v, 0)) {
		errs = append(errs, s.errorf(field+".inflate", "Invalid value: %v: the ratio to inflate the trace to, at least 1", *v))
	}
	if v := t.TimeScale; v != nil && !(*v > 0 && !math.IsInf(*v, 0)) {
		errs = append(errs, s.errorf(field+".timeScale", "Invalid value: %v: a positive factor for times and lifetimes", *v))
	}
	if p := t.Protocol; p != nil {
		if !(p.Target > 0) || math.IsInf(p.Target, 0) {
			errs = append(errs, s.errorf(field+".protocol.target", "Invalid value: %v: a positive share of the cluster's GPUs such as 1.3", p.Target))
		}
		if p.Interval != nil && p.Interval.Duration <= 0 {
			errs = append(errs, s.errorf(field+".protocol.interval", "Invalid value: %v: must be positive", p.Interval.Duration))
		}
		if t.Sample != nil || t.Inflate != nil {
			errs = append(errs, s.errorf(field+".protocol", "Forbidden: the protocol draws its own sample; remove sample and inflate"))
		}
	}
	return errs
}

// checkPodOptions checks a workload's namespace.
func (s *Scenario) checkPodOptions(field, namespace string) model.ErrorList {
	var errs model.ErrorList
	if namespace == "" {
		return nil
	}
	for _, msg := range validation.IsDNS1123Label(namespace) {
		errs = append(errs, s.errorf(field+".namespace", "Invalid value: %q: %s", namespace, msg))
	}
	return errs
}

// buildGenerator turns a generator entry into a synth.Generator, reporting each bad field.
func (s *Scenario) buildGenerator(field string, index int, gs *GeneratorSpec) (*synth.Generator, model.ErrorList) {
	var errs model.ErrorList
	bad := func(f, format string, args ...any) {
		errs = append(errs, s.errorf(field+"."+f, format, args...))
	}
	g := &synth.Generator{
		Count:  gs.Count,
		Prefix: gs.Prefix,
		Labels: gs.Labels,
		Pod:    trace.PodOptions{Namespace: gs.Namespace, Image: gs.Image},
	}
	if g.Pod.Namespace == "" {
		g.Pod.Namespace = metav1.NamespaceDefault
	}
	if g.Prefix == "" {
		g.Prefix = fmt.Sprintf("workload-%d", index)
	}
	a := gs.Arrivals
	switch {
	case (a.Poisson == nil) == (a.OnOff == nil):
		bad("arrivals", "Invalid value: want exactly one of poisson or onOff")
	case a.Poisson != nil:
		g.Arrivals = synth.Poisson{Rate: a.Poisson.Rate}
		if err := g.Arrivals.Validate(); err != nil {
			bad("arrivals.poisson.rate", "Invalid value: %v: %v", a.Poisson.Rate, err)
		}
	default:
		o := a.OnOff
		g.Arrivals = synth.OnOff{OnRate: o.OnRate, OffRate: o.OffRate, MeanOn: o.MeanOn.Duration, MeanOff: o.MeanOff.Duration}
		if err := g.Arrivals.Validate(); err != nil {
			bad("arrivals.onOff", "Invalid value: %v", err)
		}
	}
	if gs.Count < 0 {
		bad("count", "Invalid value: %d: must be 0 or more", gs.Count)
	}
	if gs.Until != nil {
		g.Until = gs.Until.Duration
	}
	if gs.Count <= 0 && g.Until <= 0 {
		bad("count", "Required value: a count, an until time, or both")
	}
	if len(gs.Shapes) > 0 && (gs.CPU != nil || gs.Memory != nil) {
		bad("shapes", "Invalid value: give either shapes or cpu and memory distributions, not both")
	}
	if len(gs.Shapes) == 0 && (gs.CPU == nil || gs.Memory == nil) {
		bad("cpu", "Required value: shapes, or both cpu (millicores) and memory (MiB) distributions")
	}
	for j, sh := range gs.Shapes {
		f := fmt.Sprintf("shapes[%d]", j)
		shape := synth.Shape{Weight: sh.Weight, GPUMilli: sh.GPUMilli, GPUModels: sh.GPUModels}
		if !(sh.Weight >= 0) || math.IsInf(sh.Weight, 0) {
			bad(f+".weight", "Invalid value: %v: must be 0 or more", sh.Weight)
		}
		for _, q := range []struct {
			name, value string
			dst         *resource.Quantity
		}{{"cpu", sh.CPU, &shape.CPU}, {"memory", sh.Memory, &shape.Memory}} {
			if q.value == "" {
				continue
			}
			v, err := resource.ParseQuantity(q.value)
			if err != nil || v.Sign() < 0 {
				bad(f+"."+q.name, "Invalid value: %q: want a non-negative quantity", q.value)
				continue
			}
			*q.dst = v
		}
		if sh.GPUMilli < 0 || sh.GPUMilli > trace.MilliPerGPU && sh.GPUMilli%trace.MilliPerGPU != 0 {
			bad(f+".gpuMilli", "Invalid value: %d: a share below 1000 or a multiple of 1000", sh.GPUMilli)
		}
		g.Shapes = append(g.Shapes, shape)
	}
	for _, d := range []struct {
		name string
		spec *DistSpec
		dst  *synth.Dist
	}{{"cpu", gs.CPU, &g.CPU}, {"memory", gs.Memory, &g.Memory}, {"lifetime", gs.Lifetime, &g.Lifetime}} {
		if d.spec == nil {
			continue
		}
		dist, derrs := s.buildDist(field+"."+d.name, d.spec)
		errs = append(errs, derrs...)
		if dist != nil {
			*d.dst = dist
		}
	}
	for j, p := range gs.Priorities {
		f := fmt.Sprintf("priorities[%d]", j)
		if p.Class != "" {
			for _, msg := range validation.IsDNS1123Subdomain(p.Class) {
				bad(f+".class", "Invalid value: %q: %s", p.Class, msg)
			}
		}
		if !(p.Weight >= 0) || math.IsInf(p.Weight, 0) {
			bad(f+".weight", "Invalid value: %v: must be 0 or more", p.Weight)
		}
		g.Priorities = append(g.Priorities, synth.Priority{Class: p.Class, Weight: p.Weight})
	}
	errs = append(errs, s.checkPodOptions(field, gs.Namespace)...)
	if msgs := validation.IsDNS1123Subdomain(g.Prefix + "-0"); len(msgs) > 0 {
		bad("prefix", "Invalid value: %q: %s", gs.Prefix, strings.Join(msgs, "; "))
	}
	for _, k := range sortedKeys(gs.Labels) {
		if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(gs.Labels[k])...); len(msgs) > 0 {
			bad("labels."+k, "Invalid value: %q: %s", gs.Labels[k], strings.Join(msgs, "; "))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	// What the checks above do not cover (weights summing to 0, GPU models).
	if err := g.Validate(); err != nil {
		return nil, model.ErrorList{s.errorf(field, "Invalid value: %v", err)}
	}
	return g, nil
}

// buildDist turns a distribution entry into a synth.Dist.
func (s *Scenario) buildDist(field string, d *DistSpec) (synth.Dist, model.ErrorList) {
	var dist synth.Dist
	var which string
	set := 0
	if d.Fixed != nil {
		set, which, dist = set+1, "fixed", synth.Fixed{Value: *d.Fixed}
	}
	if d.Uniform != nil {
		set, which, dist = set+1, "uniform", synth.Uniform{Min: d.Uniform.Min, Max: d.Uniform.Max}
	}
	if d.Exponential != nil {
		set, which, dist = set+1, "exponential", synth.Exponential{Mean: d.Exponential.Mean}
	}
	if d.Empirical != nil {
		set, which, dist = set+1, "empirical", synth.Empirical{Values: d.Empirical.Values, Weights: d.Empirical.Weights}
	}
	if l := d.LogNormal; l != nil {
		set, which = set+1, "logNormal"
		switch {
		case l.Mu != nil && l.Sigma != nil && l.Mean == nil && l.Std == nil:
			dist = synth.LogNormal{Mu: *l.Mu, Sigma: *l.Sigma}
		case l.Mean != nil && l.Std != nil && l.Mu == nil && l.Sigma == nil:
			if !(*l.Mean > 0) || !(*l.Std >= 0) {
				return nil, model.ErrorList{s.errorf(field+".logNormal", "Invalid value: mean %v and std %v: want a positive mean and a non-negative std", *l.Mean, *l.Std)}
			}
			dist = synth.LogNormalMeanStd(*l.Mean, *l.Std)
		default:
			return nil, model.ErrorList{s.errorf(field+".logNormal", "Invalid value: want mu and sigma, or mean and std")}
		}
	}
	if set != 1 {
		return nil, model.ErrorList{s.errorf(field, "Invalid value: want exactly one of fixed, uniform, exponential, logNormal or empirical")}
	}
	if err := dist.Validate(); err != nil {
		return nil, model.ErrorList{s.errorf(field+"."+which, "Invalid value: %v", err)}
	}
	return dist, nil
}

// loadWorkloads reads the snapshot and trace files, relative to the scenario file name in
// fsys; display prefixes file names in messages. The snapshot's objects go before the
// manifests' in s.Objects.
func (s *Scenario) loadWorkloads(fsys fs.FS, name, display string) model.ErrorList {
	var errs model.ErrorList
	shown := displayName(display, name)
	read := func(field, file string) (string, []byte, bool) {
		p := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(file)))
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &model.FieldError{File: shown, Doc: 1, Line: s.lineOf(field), Field: field, Detail: fmt.Sprintf("cannot read %q: %v", file, unwrapPathError(err))})
			return "", nil, false
		}
		return displayName(display, p), b, true
	}
	// fail turns an importer's error into field errors: its own list, a trace file's
	// line and column, or the scenario field that named the file.
	fail := func(field string, err error) {
		var el model.ErrorList
		var pe *trace.ParseError
		switch {
		case errors.As(err, &el):
			errs = append(errs, el...)
		case errors.As(err, &pe):
			detail := pe.Detail
			if pe.Column > 0 {
				detail = fmt.Sprintf("column %d: %s", pe.Column, detail)
			}
			f := field
			if pe.Field != "" {
				f = pe.Field
			}
			errs = append(errs, &model.FieldError{File: pe.File, Line: pe.Line, Field: f, Detail: detail})
		default:
			errs = append(errs, &model.FieldError{File: shown, Doc: 1, Line: s.lineOf(field), Field: field, Detail: err.Error()})
		}
	}
	if sf := &s.Spec.Cluster.Snapshot; sf.File != "" {
		if file, b, ok := read("spec.cluster.snapshot", sf.File); ok {
			snap, err := snapshot.Read(file, b, snapshot.Options{})
			if err != nil {
				fail("spec.cluster.snapshot", err)
			} else {
				sf.snap = snap
				s.Objects = append(append([]model.Object(nil), snap.Objects...), s.Objects...)
			}
		}
	}
	for i := range s.Spec.Workloads {
		w := &s.Spec.Workloads[i]
		if w.Trace == nil {
			continue
		}
		field := fmt.Sprintf("spec.workloads[%d].trace", i)
		loadTrace(field, w, read, fail)
	}
	if len(errs) > 0 {
		return errs
	}
	// Imported nodes must not clash with the cluster's or each other's.
	count := map[string]int{}
	all := s.Nodes()
	for _, n := range all {
		count[n.Name]++
	}
	reported := map[string]bool{}
	check := func(field string, nodes []*corev1.Node) {
		for _, n := range nodes {
			if count[n.Name] > 1 && !reported[n.Name] {
				reported[n.Name] = true
				errs = append(errs, s.errorf(field, "Duplicate value: node %q is listed %d times (in spec.cluster, the snapshot or the traces' node lists)", n.Name, count[n.Name]))
			}
		}
	}
	if sn := s.Spec.Cluster.Snapshot.snap; sn != nil {
		check("spec.cluster.snapshot", sn.Nodes)
	}
	for i, w := range s.Spec.Workloads {
		check(fmt.Sprintf("spec.workloads[%d].trace", i), w.nodes)
	}
	if len(all) == 0 && s.importsNodes() {
		errs = append(errs, s.errorf("spec.cluster", "Required value: at least one node: the snapshot and traces have none"))
	}
	gpus := trace.GPUCapacity(all)
	for i, w := range s.Spec.Workloads {
		if w.Trace == nil || w.Trace.Protocol == nil {
			continue
		}
		field := fmt.Sprintf("spec.workloads[%d].trace.protocol", i)
		demand := false
		for _, a := range w.arrivals {
			demand = demand || trace.GPUMilli(a.Pod) > 0
		}
		switch {
		case gpus == 0:
			errs = append(errs, s.errorf(field, "Invalid value: the protocol fills the cluster's GPUs, and its nodes have none"))
		case !demand:
			errs = append(errs, s.errorf(field, "Invalid value: no pod of the trace requests a GPU, so the protocol's target is never reached"))
		}
	}
	return errs
}

// loadTrace reads one trace's files with read, reporting importer errors through fail.
func loadTrace(field string, w *Workload, read func(field, file string) (string, []byte, bool), fail func(string, error)) {
	t := w.Trace
	pod := trace.PodOptions{Namespace: t.Namespace, Image: t.Image}
	// each reads one named file with fn; it reports false when the file is absent or bad.
	each := func(sub, file string, fn func(string, io.Reader) error) bool {
		if file == "" {
			return true
		}
		name, b, ok := read(field+"."+sub, file)
		if !ok {
			return false
		}
		if err := fn(name, bytes.NewReader(b)); err != nil {
			fail(field+"."+sub, err)
			return false
		}
		return true
	}
	switch t.Format {
	case FormatOpenB:
		opts := trace.OpenBOptions{PodOptions: pod, MaxPods: t.MaxPods, PriorityClasses: t.PriorityClasses, SkipUnscheduled: t.SkipUnscheduled}
		each("nodes", t.Nodes, func(f string, r io.Reader) (err error) {
			w.nodes, err = trace.ReadOpenBNodes(f, r, opts)
			return err
		})
		each("pods", t.Pods, func(f string, r io.Reader) (err error) {
			w.arrivals, err = trace.ReadOpenBPods(f, r, opts)
			return err
		})
	case FormatGeneric:
		each("pods", t.Pods, func(f string, r io.Reader) (err error) {
			w.arrivals, err = trace.ReadGeneric(f, r, pod)
			return err
		})
	case FormatAlibaba2018:
		opts := trace.V2018Options{PodOptions: pod, MaxPods: t.MaxPods}
		if t.MachineMemory != "" {
			opts.MachineMemory = resource.MustParse(t.MachineMemory) // validated
		}
		each("machineMeta", t.MachineMeta, func(f string, r io.Reader) (err error) {
			w.nodes, err = trace.ReadV2018Machines(f, r, opts)
			return err
		})
		var arrivals []trace.Arrival
		each("batchTask", t.BatchTask, func(tf string, tasks io.Reader) error {
			if t.BatchInstance == "" {
				a, err := trace.ReadV2018Batch(tf, tasks, "", nil, opts)
				arrivals = append(arrivals, a...)
				return err
			}
			var inner error
			each("batchInstance", t.BatchInstance, func(inf string, insts io.Reader) error {
				a, err := trace.ReadV2018Batch(tf, tasks, inf, insts, opts)
				arrivals = append(arrivals, a...)
				inner = err
				return nil
			})
			return inner
		})
		each("containerMeta", t.ContainerMeta, func(f string, r io.Reader) error {
			a, err := trace.ReadV2018Containers(f, r, opts)
			arrivals = append(arrivals, a...)
			return err
		})
		trace.Sort(arrivals)
		w.arrivals = arrivals
	}
}

// workloadRun is one workload being replayed: its arrivals and what became of them.
type workloadRun struct {
	c                        *sim.Cluster
	label                    string
	start                    time.Duration
	arrivals                 []trace.Arrival
	next                     int
	outstanding              int
	created, failed, deleted int
	gone                     int
}

// scheduleWorkloads records the snapshot, draws each workload from the run's seed (stream
// "workloads/<index>"), creates the namespaces and priority classes the pods need, and
// puts their arrivals and departures on the loop.
func (s *Scenario) scheduleWorkloads(c *sim.Cluster) {
	if sn := s.Spec.Cluster.Snapshot.snap; sn != nil {
		c.Log.Action(sim.Actor, "SnapshotLoaded", "", "", "spec.cluster.snapshot", fmt.Sprintf("%s: %d nodes, %d objects applied; %d items dropped (recreated by the cluster), %d warnings",
			s.Spec.Cluster.Snapshot.File, len(sn.Nodes), len(sn.Objects), len(sn.Dropped), len(sn.Warnings)))
	}
	var gpus int64 = -1
	for i := range s.Spec.Workloads {
		w := &s.Spec.Workloads[i]
		label := fmt.Sprintf("spec.workloads[%d]", i)
		r := c.Loop.Rand(fmt.Sprintf("workloads/%d", i))
		var arrivals []trace.Arrival
		var err error
		var what string
		reason := "TraceLoaded"
		switch {
		case w.gen != nil:
			reason, what = "WorkloadGenerated", "generator"
			arrivals, err = w.gen.Generate(r)
		case w.Trace.Protocol != nil:
			what = fmt.Sprintf("%s trace %s (protocol, target %v)", w.Trace.Format, w.Trace.Pods, w.Trace.Protocol.Target)
			if gpus < 0 {
				gpus = trace.GPUCapacity(s.Nodes())
			}
			p := trace.Protocol{Target: w.Trace.Protocol.Target}
			if w.Trace.Protocol.Interval != nil {
				p.Interval = w.Trace.Protocol.Interval.Duration
			}
			arrivals, err = p.Sample(w.arrivals, gpus*trace.MilliPerGPU, r)
			if err == nil && w.Trace.TimeScale != nil {
				arrivals, err = trace.ScaleTime(arrivals, *w.Trace.TimeScale)
			}
		default:
			what = fmt.Sprintf("%s trace %s", w.Trace.Format, traceFiles(w.Trace))
			arrivals, err = w.Trace.transform().Apply(w.arrivals, r)
		}
		if err != nil {
			c.Log.Action(sim.Actor, "WorkloadFailed", "", "", label, err.Error())
			continue
		}
		var start time.Duration
		if w.Start != nil {
			start = w.Start.Duration
		}
		prep := prepare(c, arrivals)
		c.Log.Action(sim.Actor, reason, "", "", label, fmt.Sprintf("%s: %s%s", what, describe(arrivals, start), prep))
		run := &workloadRun{c: c, label: label, start: start, arrivals: arrivals}
		run.begin()
	}
}

// transform is the trace's sampling, inflation and time scaling.
func (t *TraceSpec) transform() trace.Transform {
	var tr trace.Transform
	if t.Sample != nil {
		tr.Sample = *t.Sample
	}
	if t.Inflate != nil {
		tr.Inflate = *t.Inflate
	}
	if t.TimeScale != nil {
		tr.TimeScale = *t.TimeScale
	}
	return tr
}

// traceFiles lists a trace's files for messages.
func traceFiles(t *TraceSpec) string {
	var out []string
	for _, f := range []string{t.Nodes, t.Pods, t.MachineMeta, t.BatchTask, t.BatchInstance, t.ContainerMeta} {
		if f != "" {
			out = append(out, f)
		}
	}
	return strings.Join(out, ", ")
}

// describe summarizes a workload's arrivals for its start action.
func describe(arrivals []trace.Arrival, start time.Duration) string {
	if len(arrivals) == 0 {
		return "0 pods"
	}
	departing := 0
	for _, a := range arrivals {
		if a.Lifetime > 0 {
			departing++
		}
	}
	return fmt.Sprintf("%d pods (%d depart) arriving from %v to %v", len(arrivals), departing, start+arrivals[0].At, start+arrivals[len(arrivals)-1].At)
}

// prepare creates, as the admin, the namespaces and priority classes the pods name that
// the cluster lacks (classes with value 0), and says which it created.
func prepare(c *sim.Cluster, arrivals []trace.Arrival) string {
	namespaces, classes := map[string]bool{}, map[string]bool{}
	for _, a := range arrivals {
		namespaces[a.Pod.Namespace] = true
		if pc := a.Pod.Spec.PriorityClassName; pc != "" {
			classes[pc] = true
		}
	}
	var made []string
	for _, ns := range sortedSet(namespaces) {
		if _, err := c.Admin.Get("namespaces", "", ns); !apierrors.IsNotFound(err) {
			continue
		}
		obj := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if _, err := c.Admin.Create(obj); err == nil {
			made = append(made, "namespace "+ns)
		}
	}
	for _, pc := range sortedSet(classes) {
		if _, err := c.Admin.Get("priorityclasses", "", pc); !apierrors.IsNotFound(err) {
			continue
		}
		obj := &schedulingv1.PriorityClass{TypeMeta: metav1.TypeMeta{APIVersion: "scheduling.k8s.io/v1", Kind: "PriorityClass"}, ObjectMeta: metav1.ObjectMeta{Name: pc}, Value: 0,
			Description: "Created by Orrery for a workload whose pods name it."}
		if _, err := c.Admin.Create(obj); err == nil {
			made = append(made, "PriorityClass "+pc+" (value 0)")
		}
	}
	if len(made) == 0 {
		return ""
	}
	return "; created " + strings.Join(made, ", ")
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// begin counts the events to come and schedules the first arrival.
func (w *workloadRun) begin() {
	for _, a := range w.arrivals {
		w.outstanding++
		if a.Lifetime > 0 {
			w.outstanding++
		}
	}
	if w.outstanding == 0 {
		return
	}
	w.c.Loop.At(loop.Epoch.Add(w.start+w.arrivals[0].At), w.arrive)
}

// arrive creates every pod due now, then waits for the next arrival time; only one
// arrival timer is pending at a time, however long the trace.
func (w *workloadRun) arrive() {
	now := w.c.Loop.Elapsed()
	for w.next < len(w.arrivals) && w.start+w.arrivals[w.next].At <= now {
		w.create(w.arrivals[w.next])
		w.next++
	}
	if w.next < len(w.arrivals) {
		w.c.Loop.At(loop.Epoch.Add(w.start+w.arrivals[w.next].At), w.arrive)
	}
}

// create creates one pod and schedules its departure.
func (w *workloadRun) create(a trace.Arrival) {
	w.outstanding--
	obj, err := w.c.Admin.Create(a.Pod.DeepCopy())
	if err != nil {
		w.failed++
		if a.Lifetime > 0 {
			w.outstanding--
		}
		if w.failed == 1 {
			w.c.Log.Action(sim.Actor, "WorkloadCreateFailed", "pods", a.Pod.Namespace, a.Pod.Name, fmt.Sprintf("%s: %v (further failures are counted, not logged)", w.label, err))
		}
		w.done()
		return
	}
	w.created++
	if a.Lifetime > 0 {
		created := obj.(*corev1.Pod)
		ns, name, uid := created.Namespace, created.Name, created.UID
		w.c.Loop.At(loop.Epoch.Add(w.start+a.At+a.Lifetime), func() { w.depart(ns, name, uid) })
	}
	w.done()
}

// depart deletes a pod as `kubectl delete pod` does (gracefully, with the pod's grace
// period); a pod already gone (preempted, evicted) or replaced counts as gone.
func (w *workloadRun) depart(ns, name string, uid types.UID) {
	w.outstanding--
	opts := apiserver.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
	if _, err := w.c.Admin.Delete("pods", ns, name, opts); err != nil {
		w.gone++
	} else {
		w.deleted++
	}
	w.done()
}

// done records the workload's outcome once its last event has happened.
func (w *workloadRun) done() {
	if w.outstanding > 0 {
		return
	}
	w.c.Log.Action(sim.Actor, "WorkloadFinished", "", "", w.label, fmt.Sprintf("created %d pods, %d failed; deleted %d at departure, %d already gone", w.created, w.failed, w.deleted, w.gone))
}
