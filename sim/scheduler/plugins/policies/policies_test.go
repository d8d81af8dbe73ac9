package policies

import (
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

const gpu corev1.ResourceName = "nvidia.com/gpu"

// fakeHandle is a framework.Handle with only a seeded random stream.
type fakeHandle struct{ r *rand.Rand }

func (h fakeHandle) NodeInfos() []*framework.NodeInfo            { return nil }
func (h fakeHandle) NodeInfo(string) (*framework.NodeInfo, bool) { return nil, false }
func (h fakeHandle) NamespaceLabels(string) map[string]string    { return nil }
func (h fakeHandle) Rand() *rand.Rand                            { return h.r }
func (h fakeHandle) Client() framework.Client                    { return nil }

// res is a resource list from "cpu", "memory" and optionally "gpu" quantities ("" = unset).
func res(cpu, mem string, gpus ...string) corev1.ResourceList {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	if len(gpus) > 0 {
		rl[gpu] = resource.MustParse(gpus[0])
	}
	return rl
}

func pod(req corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req}}}}}
}

func node(name string, alloc corev1.ResourceList, running ...corev1.ResourceList) *framework.NodeInfo {
	alloc = alloc.DeepCopy()
	alloc[corev1.ResourcePods] = resource.MustParse("110")
	ni := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Allocatable: alloc}})
	for i, r := range running {
		ni.AddPod(string(rune('a'+i)), framework.NewPodInfo(pod(r)))
	}
	return ni
}

// scoreAll runs a plugin the way the scheduler does: PreScore, Score per node, then
// NormalizeScore if the plugin has it.
func scoreAll(t *testing.T, p framework.ScorePlugin, pd *corev1.Pod, nodes []*framework.NodeInfo) []int64 {
	t.Helper()
	state := framework.NewCycleState()
	if ps, ok := p.(framework.PreScorePlugin); ok {
		if st := ps.PreScore(state, pd, nodes); !st.IsSuccess() {
			t.Fatalf("%s: PreScore: %s", p.Name(), st.Message())
		}
	}
	scores := make([]framework.NodeScore, len(nodes))
	for i, n := range nodes {
		s, st := p.Score(state, pd, n)
		if !st.IsSuccess() {
			t.Fatalf("%s: Score %s: %s", p.Name(), n.Name(), st.Message())
		}
		scores[i] = framework.NodeScore{Name: n.Name(), Score: s}
	}
	if ext, ok := p.(framework.ScoreExtensions); ok {
		if st := ext.NormalizeScore(state, pd, scores); !st.IsSuccess() {
			t.Fatalf("%s: NormalizeScore: %s", p.Name(), st.Message())
		}
	}
	out := make([]int64, len(scores))
	for i, s := range scores {
		if s.Score < 0 || s.Score > framework.MaxNodeScore {
			t.Errorf("%s: node %s scored %d, outside [0, %d]", p.Name(), s.Name, s.Score, framework.MaxNodeScore)
		}
		out[i] = s.Score
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRegistry(t *testing.T) {
	reg := Registry()
	for _, name := range []string{"Random", "FirstFit", "BestFit", "WorstFit", "DotProduct"} {
		f, ok := reg[name]
		if !ok {
			t.Fatalf("Registry has no %q", name)
		}
		p, err := f(nil, fakeHandle{rand.New(rand.NewPCG(1, 1))})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Name() != name {
			t.Errorf("factory %q built a plugin named %q", name, p.Name())
		}
		if _, ok := p.(framework.ScorePlugin); !ok {
			t.Errorf("%s is not a ScorePlugin", name)
		}
	}
	if len(reg) != 5 {
		t.Errorf("Registry has %d plugins, want 5", len(reg))
	}
	if err := (framework.Registry{}).Merge(reg); err != nil {
		t.Errorf("merging into an empty registry: %v", err)
	}
}
