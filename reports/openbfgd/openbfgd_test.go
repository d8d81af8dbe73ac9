package openbfgd

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/scenarios"
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

// TestScenarioNamesTheExperiment: the built-in's spec.compare, which orrery compare runs,
// lists the experiment's six policies in the paper's order, with their files, and shows the
// GPU metrics.
func TestScenarioNamesTheExperiment(t *testing.T) {
	s, err := scenarios.LoadBuiltin(Scenario)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Spec.Compare
	if c == nil || len(c.Policies) != len(Policies) {
		t.Fatalf("spec.compare %+v, want the %d policies", c, len(Policies))
	}
	for i, p := range Policies {
		if got := c.Policies[i]; got.Name != p.Name || got.Scheduler != p.File || len(got.Data) == 0 {
			t.Errorf("spec.compare.policies[%d] = %s (%s, %d bytes), want %s (%s)", i, got.Name, got.Scheduler, len(got.Data), p.Name, p.File)
		}
	}
	if strings.Join(c.Metrics, ",") != "gpu" {
		t.Errorf("spec.compare.metrics = %v, want [gpu]", c.Metrics)
	}
}
