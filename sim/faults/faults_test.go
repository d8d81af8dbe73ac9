package faults

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// fakeTarget records what the injector asks of the cluster, with the virtual time.
type fakeTarget struct {
	clock *loop.Loop
	zones map[string][]string
	calls []string
}

func (f *fakeTarget) rec(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf("%v ", f.clock.Elapsed())+fmt.Sprintf(format, args...))
}

func (f *fakeTarget) HasNode(name string) bool {
	for _, ns := range f.zones {
		for _, n := range ns {
			if n == name {
				return true
			}
		}
	}
	return false
}
func (f *fakeTarget) NodesInZone(z string) []string { return f.zones[z] }
func (f *fakeTarget) CrashNode(n string) error      { f.rec("crash %s", n); return nil }
func (f *fakeTarget) RecoverNode(n string) error    { f.rec("recover %s", n); return nil }
func (f *fakeTarget) StopKubelet(n string) error    { f.rec("stop-kubelet %s", n); return nil }
func (f *fakeTarget) StartKubelet(n string) error   { f.rec("start-kubelet %s", n); return nil }
func (f *fakeTarget) CutOff(n ...string)            { f.rec("cut %v", n) }
func (f *fakeTarget) Reconnect(n ...string)         { f.rec("reconnect %v", n) }
func (f *fakeTarget) CrashContainer(ns, pod, c string, code int32) error {
	f.rec("crash-container %s/%s %q %d", ns, pod, c, code)
	return nil
}
func (f *fakeTarget) AddNodeUsage(n string, mem, disk int64) error {
	f.rec("usage %s %d %d", n, mem, disk)
	return nil
}
func (f *fakeTarget) SlowImagePulls(n string, lat time.Duration, bw int64) (func(), error) {
	f.rec("slow-pulls %q %v %d", n, lat, bw)
	return func() { f.rec("pulls-restored %q", n) }, nil
}
func (f *fakeTarget) AddWatchLatency(d time.Duration) { f.rec("watch-latency %v", d) }

func newFake() (*fakeTarget, *Injector, *eventlog.Log) {
	l := loop.New(1)
	t := &fakeTarget{clock: l, zones: map[string][]string{"z1": {"a", "b"}, "z2": {"c"}}}
	log := eventlog.New(l.Elapsed)
	return t, NewInjector(l, log, t), log
}

func TestInjector(t *testing.T) {
	tests := []struct {
		name   string
		faults []Timed
		want   []string
	}{
		{"crash and recover", []Timed{{time.Minute, Fault{Kind: NodeCrash, Node: "a", For: 5 * time.Minute}}},
			[]string{"1m0s crash a", "6m0s recover a"}},
		{"a node crash inside a zone outage does not end it", []Timed{
			{time.Minute, Fault{Kind: ZoneOutage, Zone: "z1", For: 10 * time.Minute}},
			{2 * time.Minute, Fault{Kind: NodeCrash, Node: "a", For: 2 * time.Minute}},
		}, []string{"1m0s crash a", "1m0s crash b", "11m0s recover a", "11m0s recover b"}},
		{"an explicit recovery ends every crash", []Timed{
			{time.Minute, Fault{Kind: ZoneOutage, Zone: "z1", For: 10 * time.Minute}},
			{3 * time.Minute, Fault{Kind: NodeRecover, Node: "b"}},
		}, []string{"1m0s crash a", "1m0s crash b", "3m0s recover b", "11m0s recover a"}},
		{"zone partition", []Timed{{30 * time.Second, Fault{Kind: NetworkPartition, Zone: "z1", For: 3 * time.Minute}}},
			[]string{"30s cut [a b]", "3m30s reconnect [a b]"}},
		{"nested partitions", []Timed{
			{0, Fault{Kind: NetworkPartition, Node: "a", For: 5 * time.Minute}},
			{time.Minute, Fault{Kind: NetworkPartition, Zone: "z1", For: time.Minute}},
		}, []string{"0s cut [a]", "1m0s cut [b]", "2m0s reconnect [b]", "5m0s reconnect [a]"}},
		{"kubelet restart", []Timed{{time.Minute, Fault{Kind: KubeletStop, Node: "c", For: 90 * time.Second}}},
			[]string{"1m0s stop-kubelet c", "2m30s start-kubelet c"}},
		{"container crash", []Timed{{time.Second, Fault{Kind: ContainerCrash, Namespace: "default", Pod: "web-1"}}},
			[]string{`1s crash-container default/web-1 "" 137`}},
		{"memory pressure", []Timed{{time.Second, Fault{Kind: MemoryPressure, Node: "a", Memory: 1 << 30, For: time.Minute}}},
			[]string{"1s usage a 1073741824 0", "1m1s usage a -1073741824 0"}},
		{"slow registry", []Timed{{0, Fault{Kind: SlowRegistry, Latency: 30 * time.Second, For: time.Hour}}},
			[]string{`0s slow-pulls "" 30s 0`, `1h0m0s pulls-restored ""`}},
		{"brown-out", []Timed{{time.Minute, Fault{Kind: APIServerBrownout, Latency: 2 * time.Second, For: time.Minute}}},
			[]string{"1m0s watch-latency 2s", "2m0s watch-latency -2s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft, in, log := newFake()
			for _, f := range tc.faults {
				if err := in.At(f.At, f.Fault); err != nil {
					t.Fatal(err)
				}
			}
			ft.clock.RunFor(2 * time.Hour)
			if !reflect.DeepEqual(ft.calls, tc.want) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(ft.calls, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if len(in.Errors) > 0 {
				t.Errorf("errors: %v", in.Errors)
			}
			if log.Len() == 0 {
				t.Error("nothing recorded in the event log")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ft, _, _ := newFake()
	tests := []struct {
		f     Fault
		field string // "" = valid
		in    string
	}{
		{Fault{Kind: NodeCrash, Node: "a"}, "", ""},
		{Fault{Kind: NodeCrash, Node: "x"}, "node", `Not found: "x"`},
		{Fault{Kind: NodeCrash}, "node", "Required value"},
		{Fault{Kind: "Meteor"}, "kind", `Unsupported value: "Meteor"`},
		{Fault{}, "kind", "Required value"},
		{Fault{Kind: ZoneOutage, Zone: "z9"}, "zone", `Not found: "z9"`},
		{Fault{Kind: NetworkPartition, Zone: "z1", Node: "a"}, "zone", "not both"},
		{Fault{Kind: NetworkPartition, Zone: "z2"}, "", ""},
		{Fault{Kind: NodeCrash, Node: "a", For: -time.Second}, "for", "must not be negative"},
		{Fault{Kind: ContainerCrash}, "pod", "Required value"},
		{Fault{Kind: ContainerCrash, Pod: "p", ExitCode: 300}, "exitCode", "between 0 and 255"},
		{Fault{Kind: MemoryPressure, Node: "a"}, "memory", "Required value"},
		{Fault{Kind: DiskPressure, Node: "a", Disk: 1}, "", ""},
		{Fault{Kind: SlowRegistry}, "latency", "Required value"},
		{Fault{Kind: APIServerBrownout}, "latency", "Required value"},
	}
	for _, tc := range tests {
		t.Run(tc.f.String(), func(t *testing.T) {
			errs := tc.f.Validate(ft)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) == 0 || errs[0].Field != tc.field || !strings.Contains(errs[0].Detail, tc.in) {
				t.Fatalf("errors %v, want %s: ...%s...", errs, tc.field, tc.in)
			}
		})
	}
}

// TestRandomSchedule: the schedule is the same for the same seed, each node's failures do
// not depend on the other nodes, failures fall inside [start, end), and the mean time
// between failures is the configured one.
func TestRandomSchedule(t *testing.T) {
	streams := func(seed uint64) func(string) *rand.Rand {
		l := loop.New(seed)
		return l.Rand
	}
	r := Random{MTBF: Dist{Kind: Exponential, Mean: time.Hour}, MTTR: Dist{Kind: LogNormal, Mean: 10 * time.Minute, Sigma: 0.5},
		ZoneMTBF: Dist{Kind: Exponential, Mean: 4 * time.Hour}, ZoneMTTR: Dist{Kind: Fixed, Mean: 30 * time.Minute}, Start: time.Minute}
	day := 24 * time.Hour
	a := r.Schedule([]string{"n1", "n2"}, []string{"z1"}, day, streams(7))
	b := r.Schedule([]string{"n1", "n2"}, []string{"z1"}, day, streams(7))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different schedules")
	}
	c := r.Schedule([]string{"n1", "n2", "n3"}, []string{"z1"}, day, streams(7))
	only := func(ts []Timed, node string) []Timed {
		var out []Timed
		for _, x := range ts {
			if x.Fault.Node == node {
				out = append(out, x)
			}
		}
		return out
	}
	if !reflect.DeepEqual(only(a, "n1"), only(c, "n1")) || !reflect.DeepEqual(only(a, "n2"), only(c, "n2")) {
		t.Error("adding n3 changed the failures of n1 or n2")
	}
	if reflect.DeepEqual(a, r.Schedule([]string{"n1", "n2"}, []string{"z1"}, day, streams(8))) {
		t.Error("another seed gave the same schedule")
	}
	zones := 0
	for i, x := range a {
		if x.At < r.Start || x.At >= day {
			t.Errorf("fault %d at %v, outside [%v, %v)", i, x.At, r.Start, day)
		}
		if i > 0 && x.At < a[i-1].At {
			t.Errorf("fault %d out of order", i)
		}
		if x.Fault.Kind == ZoneOutage {
			zones++
			if x.Fault.For != 30*time.Minute {
				t.Errorf("zone outage for %v, want the fixed 30m", x.Fault.For)
			}
		}
	}
	if zones == 0 {
		t.Error("no zone outage in a day with a 4h zone MTBF")
	}
	// Over a long run the mean up time approaches the MTBF.
	long := Random{MTBF: Dist{Kind: Exponential, Mean: time.Hour}, MTTR: Dist{Kind: Fixed, Mean: time.Minute}}
	ts := long.Schedule([]string{"n"}, nil, 5000*time.Hour, streams(1))
	var up time.Duration
	prevEnd := time.Duration(0)
	for _, x := range ts {
		up += x.At - prevEnd
		prevEnd = x.At + x.Fault.For
	}
	mean := up / time.Duration(len(ts))
	if mean < 54*time.Minute || mean > 66*time.Minute {
		t.Errorf("mean time between failures %v over %d failures, want about 1h", mean, len(ts))
	}
}

func TestDistValidate(t *testing.T) {
	if errs := (Dist{Kind: "gamma", Mean: time.Hour}).Validate("mtbf"); len(errs) != 1 || errs[0].Field != "mtbf.kind" {
		t.Errorf("unknown kind: %v", errs)
	}
	if errs := (Dist{Kind: LogNormal, Mean: time.Hour}).Validate("mttr"); len(errs) != 1 || errs[0].Field != "mttr.sigma" {
		t.Errorf("lognormal without sigma: %v", errs)
	}
	if errs := (Dist{Kind: Fixed}).Validate("mttr"); len(errs) != 1 || errs[0].Field != "mttr.mean" {
		t.Errorf("no mean: %v", errs)
	}
}
