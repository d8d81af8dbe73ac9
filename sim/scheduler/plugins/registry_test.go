package plugins_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/framework/fake"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// TestInTreeCoversDefaults: every plugin of the default configuration is registered, so a
// default profile can always be built.
func TestInTreeCoversDefaults(t *testing.T) {
	reg := plugins.InTree()
	for _, name := range schedconfig.InTreePlugins() {
		if _, ok := reg[name]; !ok {
			t.Errorf("default plugin %s is not in the in-tree registry", name)
		}
	}
	all := plugins.All()
	for _, name := range []string{"Random", "FirstFit", "BestFit", "WorstFit", "DotProduct", "NodeResourcesFit",
		"GPUShare", "FGDScore", "GpuPackingScore", "GpuClusteringScore", "BestFitScore", "DotProductScore", "RandomScore"} {
		if _, ok := all[name]; !ok {
			t.Errorf("%s missing from All()", name)
		}
	}
}

// TestNodesScorersAgreeWithScore: every plugin that scores all nodes in one call gives each
// node exactly what its Score gives it, under each scoring strategy of NodeResourcesFit.
func TestNodesScorersAgreeWithScore(t *testing.T) {
	var nodes []*corev1.Node
	for i := 0; i < 6; i++ {
		n := fake.Node(fmt.Sprintf("n%d", i), nil)
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(fmt.Sprintf("%d", 2+i)), corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dGi", 4+3*i)), corev1.ResourcePods: resource.MustParse("110")}
		if i == 4 {
			// A node without memory: the scorers leave the resource out.
			n.Status.Allocatable[corev1.ResourceMemory] = resource.MustParse("0")
		}
		if i%2 == 1 {
			n.Spec.Taints = []corev1.Taint{{Key: "soft", Value: "x", Effect: corev1.TaintEffectPreferNoSchedule}}
		}
		nodes = append(nodes, n)
	}
	var pods []*corev1.Pod
	for i := 0; i < 9; i++ {
		p := fake.Pod("default", fmt.Sprintf("p%d", i), nil, fmt.Sprintf("n%d", i%6))
		p.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(fmt.Sprintf("%dm", 300*(i+1))), corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dMi", 200*(i+1)))}}}}
		pods = append(pods, p)
	}
	h := fake.Cluster(nodes, pods, nil)
	incoming := fake.Pod("default", "new", nil, "")
	incoming.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("700m"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	checked := 0
	reg := plugins.All()
	for _, name := range schedconfig.PluginNames(reg) {
		argsList := []runtime.Object{schedconfig.NewArgs(name)}
		if fa, ok := argsList[0].(*configv1.NodeResourcesFitArgs); ok {
			most := fa.DeepCopy()
			most.ScoringStrategy = &configv1.ScoringStrategy{Type: configv1.MostAllocated}
			weighted := most.DeepCopy()
			weighted.ScoringStrategy.Resources = []configv1.ResourceSpec{{Name: "cpu", Weight: 3}, {Name: "memory", Weight: 1}}
			least := fa.DeepCopy()
			least.ScoringStrategy = &configv1.ScoringStrategy{Type: configv1.LeastAllocated, Resources: []configv1.ResourceSpec{{Name: "memory", Weight: 2}, {Name: "cpu", Weight: 5}}}
			argsList = append(argsList, most, weighted, least)
		}
		for _, args := range argsList {
			if args != nil {
				schedconfig.SetArgsDefaults(args)
			}
			pl, err := reg[name](args, h)
			if err != nil {
				continue // needs more of a handle than the fake offers (DefaultPreemption)
			}
			ns, ok := pl.(framework.NodesScorer)
			sp, isScore := pl.(framework.ScorePlugin)
			if !ok || !isScore {
				continue
			}
			checked++
			state := framework.NewCycleState()
			if pre, ok := pl.(framework.PreScorePlugin); ok {
				pre.PreScore(state, incoming, h.Nodes)
			}
			scores := make([]framework.NodeScore, len(h.Nodes))
			for i, ni := range h.Nodes {
				scores[i].Name = ni.Name()
			}
			if st := ns.ScoreNodes(state, incoming, h.Nodes, scores); !st.IsSuccess() {
				t.Fatalf("%s: ScoreNodes: %v", name, st.Message())
			}
			for i, ni := range h.Nodes {
				want, _ := sp.Score(state, incoming, ni)
				if scores[i].Score != want {
					t.Errorf("%s on %s: ScoreNodes %d, Score %d", name, ni.Name(), scores[i].Score, want)
				}
			}
		}
	}
	if checked < 6 {
		t.Errorf("checked %d plugin configurations, want NodeResourcesFit (4), BalancedAllocation and TaintToleration", checked)
	}
}
