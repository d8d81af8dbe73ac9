package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/faults"
)

// Fault kinds of the first schema, kept as names.
const (
	FaultNodeCrash   = string(faults.NodeCrash)
	FaultNodeRecover = string(faults.NodeRecover)
)

// Fault is a failure to inject (or end), as a timeline entry writes it; see package
// sim/faults for what each kind does.
type Fault struct {
	Kind string `yaml:"kind"`
	// Node or Zone is what the fault hits.
	Node string `yaml:"node"`
	Zone string `yaml:"zone"`
	// Pod (namespace/name, or name in default), Container and ExitCode describe a
	// ContainerCrash.
	Pod       string `yaml:"pod"`
	Container string `yaml:"container"`
	ExitCode  *int32 `yaml:"exitCode"`
	// Memory and Disk are quantities of MemoryPressure and DiskPressure.
	Memory string `yaml:"memory"`
	Disk   string `yaml:"disk"`
	// Latency is the added delay of SlowRegistry and APIServerBrownout; Bandwidth the
	// image pull bandwidth of SlowRegistry (a quantity of bytes per second).
	Latency   *Duration `yaml:"latency"`
	Bandwidth string    `yaml:"bandwidth"`
	// For ends the fault after this long.
	For *Duration `yaml:"for"`
}

// RandomFaults is spec.randomFaults: failures drawn from the run's seed.
type RandomFaults struct {
	// Kind is what a node failure is: NodeCrash (default), KubeletStop or
	// NetworkPartition.
	Kind string `yaml:"kind"`
	// Nodes that fail (default: every node of spec.cluster).
	Nodes []string `yaml:"nodes"`
	// MTBF and MTTR are each node's time between failures and time to repair.
	MTBF *DurationDist `yaml:"mtbf"`
	MTTR *DurationDist `yaml:"mttr"`
	// ZoneMTBF and ZoneMTTR, when set, make whole zones fail (ZoneOutage).
	ZoneMTBF *DurationDist `yaml:"zoneMTBF"`
	ZoneMTTR *DurationDist `yaml:"zoneMTTR"`
	// Start and End bound when failures begin (default: the whole run).
	Start *Duration `yaml:"start"`
	End   *Duration `yaml:"end"`
}

// DurationDist is a distribution of durations: exactly one of {exponential: MEAN},
// {fixed: D} or {logNormal: {median: D, sigma: S}}.
type DurationDist struct {
	Exponential *Duration `yaml:"exponential"`
	Fixed       *Duration `yaml:"fixed"`
	LogNormal   *struct {
		Median Duration `yaml:"median"`
		Sigma  float64  `yaml:"sigma"`
	} `yaml:"logNormal"`
}

// dist converts to faults.Dist; ok is false unless exactly one form is set.
func (d *DurationDist) dist() (faults.Dist, bool) {
	if d == nil {
		return faults.Dist{}, false
	}
	n := 0
	var out faults.Dist
	if d.Exponential != nil {
		n++
		out = faults.Dist{Kind: faults.Exponential, Mean: d.Exponential.Duration}
	}
	if d.Fixed != nil {
		n++
		out = faults.Dist{Kind: faults.Fixed, Mean: d.Fixed.Duration}
	}
	if d.LogNormal != nil {
		n++
		out = faults.Dist{Kind: faults.LogNormal, Mean: d.LogNormal.Median.Duration, Sigma: d.LogNormal.Sigma}
	}
	return out, n == 1
}

// topology answers the fault validation's questions from the scenario's nodes (with
// those added on the timeline).
type topology struct {
	nodes map[string]bool
	zones map[string][]string
}

func (t topology) HasNode(n string) bool         { return t.nodes[n] }
func (t topology) NodesInZone(z string) []string { return t.zones[z] }
func (t topology) sortedZones() []string         { return sortedKeysOf(t.zones) }
func sortedKeysOf(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// topology returns the nodes and zones of the scenario's cluster and timeline.
func (s *Scenario) topology() topology {
	t := topology{nodes: map[string]bool{}, zones: map[string][]string{}}
	add := func(n *corev1.Node) {
		t.nodes[n.Name] = true
		if z := n.Labels[corev1.LabelTopologyZone]; z != "" {
			t.zones[z] = append(t.zones[z], n.Name)
		}
	}
	for _, n := range s.Nodes() {
		add(n)
	}
	for _, e := range s.Spec.Timeline {
		if n := e.AddNode; n != nil {
			add(buildNode(n.Name, n.NodeShape, n.Zone))
		}
	}
	for z := range t.zones {
		sort.Strings(t.zones[z])
	}
	return t
}

// fault converts a validated timeline fault.
func (f *Fault) fault() faults.Fault {
	out := faults.Fault{Kind: faults.Kind(f.Kind), Node: f.Node, Zone: f.Zone, Container: f.Container}
	if f.Pod != "" {
		out.Namespace, out.Pod = metav1.NamespaceDefault, f.Pod
		if ns, name, ok := strings.Cut(f.Pod, "/"); ok {
			out.Namespace, out.Pod = ns, name
		}
	}
	if f.ExitCode != nil {
		out.ExitCode = *f.ExitCode
	}
	if q, err := resource.ParseQuantity(f.Memory); err == nil {
		out.Memory = q.Value()
	}
	if q, err := resource.ParseQuantity(f.Disk); err == nil {
		out.Disk = q.Value()
	}
	if q, err := resource.ParseQuantity(f.Bandwidth); err == nil {
		out.Bandwidth = q.Value()
	}
	if f.Latency != nil {
		out.Latency = f.Latency.Duration
	}
	if f.For != nil {
		out.For = f.For.Duration
	}
	return out
}

// validateFaults checks every timeline fault and spec.randomFaults against the cluster.
func (s *Scenario) validateFaults() model.ErrorList {
	var errs model.ErrorList
	topo := s.topology()
	for i, e := range s.Spec.Timeline {
		f := e.Fault
		if f == nil {
			continue
		}
		field := fmt.Sprintf("spec.timeline[%d].fault", i)
		for _, q := range []struct{ name, value string }{{"memory", f.Memory}, {"disk", f.Disk}, {"bandwidth", f.Bandwidth}} {
			if q.value == "" {
				continue
			}
			if _, err := resource.ParseQuantity(q.value); err != nil {
				errs = append(errs, s.errorf(field+"."+q.name, "Invalid value: %q: %v", q.value, err))
			}
		}
		for _, fe := range f.fault().Validate(topo) {
			errs = append(errs, s.errorf(field+"."+fe.Field, "%s", fe.Detail))
		}
	}
	if r := s.Spec.RandomFaults; r != nil {
		rf, bad := s.randomFaults()
		errs = append(errs, bad...)
		if len(bad) == 0 {
			for _, fe := range rf.Validate(topo) {
				errs = append(errs, s.errorf("spec.randomFaults."+fe.Field, "%s", fe.Detail))
			}
		}
	}
	return errs
}

// randomFaults converts spec.randomFaults, with the errors of its distributions.
func (s *Scenario) randomFaults() (faults.Random, model.ErrorList) {
	r := s.Spec.RandomFaults
	out := faults.Random{Kind: faults.Kind(r.Kind), Nodes: r.Nodes}
	var errs model.ErrorList
	dist := func(name string, d *DurationDist, required bool) faults.Dist {
		if d == nil {
			if required {
				errs = append(errs, s.errorf("spec.randomFaults."+name, "Required value: a distribution such as {exponential: 24h}"))
			}
			return faults.Dist{}
		}
		v, ok := d.dist()
		if !ok {
			errs = append(errs, s.errorf("spec.randomFaults."+name, "Invalid value: give exactly one of exponential, fixed or logNormal"))
		}
		return v
	}
	out.MTBF = dist("mtbf", r.MTBF, true)
	out.MTTR = dist("mttr", r.MTTR, true)
	out.ZoneMTBF = dist("zoneMTBF", r.ZoneMTBF, false)
	out.ZoneMTTR = dist("zoneMTTR", r.ZoneMTTR, r.ZoneMTBF != nil)
	if r.Start != nil {
		out.Start = r.Start.Duration
	}
	if r.End != nil {
		out.End = r.End.Duration
	}
	return out, errs
}

// scheduleFaults puts the timeline's faults and the drawn random ones on the loop through
// one injector, and returns it (its Errors are the faults that failed when applied).
func (s *Scenario) scheduleFaults(c *sim.Cluster, length time.Duration) (*faults.Injector, error) {
	in := faults.NewInjector(c.Loop, c.Log, c.FaultTarget())
	for i, e := range s.Spec.Timeline {
		if e.Fault == nil {
			continue
		}
		if err := in.At(e.At.Duration, e.Fault.fault()); err != nil {
			return nil, fmt.Errorf("spec.timeline[%d].fault: %w", i, err)
		}
	}
	if s.Spec.RandomFaults != nil {
		r, _ := s.randomFaults() // validated
		topo := s.topology()
		nodes := make([]string, 0, len(topo.nodes))
		for n := range topo.nodes {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, tf := range r.Schedule(nodes, topo.sortedZones(), length, c.Loop.Rand) {
			if err := in.At(tf.At, tf.Fault); err != nil {
				return nil, fmt.Errorf("spec.randomFaults: %w", err)
			}
		}
	}
	return in, nil
}
