package openbfgd

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/scenarios/trace"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// dir is the scenario's folder.
const dir = "../../scenarios/builtin/openb-fgd"

// handle is enough of a scheduler handle to build the default profile's plugins.
type handle struct{ *gputest.Handle }

func (handle) RunFilters(*framework.CycleState, *corev1.Pod, *framework.NodeInfo) *framework.Status {
	return nil
}

func names[T framework.Plugin](ps []T) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

// TestConfigs: every policy's configuration parses against the registry, builds, and
// puts the policy alone at score, GPUShare at preFilter, filter and reserve, and GPUShare
// before DefaultBinder at bind.
func TestConfigs(t *testing.T) {
	h := handle{gputest.Cluster(&gputest.Client{}, nil)}
	for _, p := range Policies {
		cfg, err := LoadConfig(dir, p)
		if err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		profs, err := schedconfig.BuildProfiles(cfg, plugins.All(), h)
		if err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		// Without the artifact's tie-breaking the configuration still builds, and FGD keeps
		// its typical pods.
		random, err := WithoutTieBreak(cfg)
		if err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		if _, err := schedconfig.BuildProfiles(random, plugins.All(), h); err != nil {
			t.Fatalf("%s without tieBreak: %v", p.File, err)
		}
		for _, pc := range random.Profiles[0].PluginConfig {
			if u, ok := pc.Args.Object.(*runtime.Unknown); ok && strings.Contains(string(u.Raw), "tieBreak") {
				t.Errorf("%s: %s args still break ties: %s", p.File, pc.Name, u.Raw)
			}
		}
		if p.Name == "FGD" {
			if w, err := Workload(random); err != nil || w.TotalWeight() != 7766 {
				t.Errorf("FGD without tieBreak: %v", err)
			}
		}
		prof := profs[0]
		var score []string
		for _, s := range prof.Score {
			score = append(score, s.Plugin.Name())
			if s.Weight != 1000 {
				t.Errorf("%s: weight %d, want 1000", p.File, s.Weight)
			}
		}
		policy := score
		if len(score) != 1 {
			t.Errorf("%s: score plugins %v, want one", p.File, score)
		}
		if got := names(prof.Bind); !reflect.DeepEqual(got, []string{"GPUShare", "DefaultBinder"}) {
			t.Errorf("%s: bind %v", p.File, got)
		}
		if got := names(prof.Reserve); !reflect.DeepEqual(got, []string{"GPUShare"}) {
			t.Errorf("%s: reserve %v", p.File, got)
		}
		for point, list := range map[string][]string{"preFilter": names(prof.PreFilter), "filter": names(prof.Filter)} {
			found := false
			for _, n := range list {
				found = found || n == "GPUShare"
			}
			if !found {
				t.Errorf("%s: no GPUShare at %s: %v", p.File, point, list)
			}
		}
		if prof.PercentageOfNodesToScore != 100 {
			t.Errorf("%s: percentageOfNodesToScore %d", p.File, prof.PercentageOfNodesToScore)
		}
		if policy[0] == "FGDScore" || policy[0] == "RandomScore" {
			pre := names(prof.PreFilter)
			if pre[len(pre)-1] != policy[0] {
				t.Errorf("%s: %s does not choose GPUs (preFilter %v)", p.File, policy[0], pre)
			}
		}
	}
}

// TestTypicalPodsShipped: fgd.yaml's typical pods are those of the trace the scenario
// ships, as the artifact computes them.
func TestTypicalPodsShipped(t *testing.T) {
	w, err := trace.LoadOpenB(dir+"/openb_node_list_gpu_node.csv", dir+"/openb_pod_list_default.csv", trace.OpenBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for _, a := range w.Arrivals {
		pods = append(pods, a.Pod)
	}
	want, err := fgd.TypicalPods(pods, fgd.DefaultPopularity)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(dir, Policies[5])
	if err != nil {
		t.Fatal(err)
	}
	got, err := Workload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Pods(), want) {
		t.Errorf("fgd.yaml has %d typical pods, the trace gives %d:\n%v\n%v", len(got.Pods()), len(want), got.Pods(), want)
	}
	if len(want) != 35 || got.TotalWeight() != 7766 {
		t.Errorf("%d typical pods of weight %d, want 35 of 7766", len(want), got.TotalWeight())
	}
	if len(w.Nodes) != 1213 || trace.GPUCapacity(w.Nodes) != 6212 {
		t.Errorf("%d nodes, %d GPUs; want 1213, 6212", len(w.Nodes), trace.GPUCapacity(w.Nodes))
	}
}

// TestAnalyze pins the measures on a two-node cluster: 4 GPUs (4000 thousandths), pods
// arriving as 1000, 500 (fails), 2000 and 1500 thousandths (fails).
func TestAnalyze(t *testing.T) {
	nodes := []*corev1.Node{gputest.Node("a", "T4", 2, 8000), gputest.Node("b", "T4", 2, 8000)}
	pod := func(i int, cpu int64, count int, milli int64, node string, idx ...int) *corev1.Pod {
		p := gputest.Pod("openb-pod-1-"+string(rune('0'+i)), cpu, count, milli)
		p.Annotations["orrery.dev/trace-id"] = "openb-pod-1"
		if node != "" {
			p = gputest.On(p, node, idx...)
		}
		return p
	}
	pods := []*corev1.Pod{
		pod(3, 1000, 1, 500, ""),
		pod(0, 2000, 1, 1000, "a", 0),
		pod(2, 4000, 2, 1000, "b", 0, 1),
		pod(1, 1000, 1, 500, "a", 1),
		gputest.On(gputest.Pod("other", 1000, 1, 500), "a", 1), // not the protocol's
	}
	w, err := fgd.NewWorkload([]fgd.TypicalPod{{CPU: 1000, GPUMilli: 1000, GPUCount: 1, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Analyze(nodes, pods, w)
	if err != nil {
		t.Fatal(err)
	}
	if m.GPUs != 4 || m.Arrived != 4 || m.Scheduled != 3 || m.Failed != 1 {
		t.Fatalf("%d GPUs, %d arrived, %d scheduled, %d failed; want 4, 4, 3, 1", m.GPUs, m.Arrived, m.Scheduled, m.Failed)
	}
	// Demand arrived (of 4000): 1000 (25%), 1500 (37.5%), 3500 (87.5%), 4000 (100%).
	// Allocated: 1000, 1500, 3500, 3500. Fragmentation against whole-GPU pods: none, then
	// a's GPU 1 with 500 free (0.5 GPU), which stays. CPU: 2000, 3000, 7000 of 16000.
	want := map[int][3]float64{
		0: {0.25, 0, 2000.0 / 16000}, 25: {0.25, 0, 2000.0 / 16000},
		26: {0.375, 0.5, 3000.0 / 16000}, 37: {0.375, 0.5, 3000.0 / 16000},
		38: {0.875, 0.5, 7000.0 / 16000}, 87: {0.875, 0.5, 7000.0 / 16000},
		88: {0.875, 0.5, 7000.0 / 16000}, 100: {0.875, 0.5, 7000.0 / 16000}, 130: {0.875, 0.5, 7000.0 / 16000},
	}
	for k, v := range want {
		if m.Alloc[k] != v[0] || m.Frag[k] != v[1] || m.CPUAlloc[k] != v[2] {
			t.Errorf("step %d: alloc %v frag %v cpu %v; want %v", k, m.Alloc[k], m.Frag[k], m.CPUAlloc[k], v)
		}
	}
	if len(m.Alloc) != Steps+1 || m.Unallocated(130) != 0.5 || m.FragRatio[130] != 1 {
		t.Errorf("%d steps, %v GPUs unallocated, frag ratio %v", len(m.Alloc), m.Unallocated(130), m.FragRatio[130])
	}
}
