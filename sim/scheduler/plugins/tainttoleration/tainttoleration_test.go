package tainttoleration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func node(name string, taints ...corev1.Taint) *framework.NodeInfo {
	return framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}})
}

func podTolerating(tols ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tols}}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *framework.NodeInfo
		code framework.Code
		msg  string
	}{
		{"no taints", podTolerating(), node("n"), framework.Success, ""},
		{"untolerated NoSchedule", podTolerating(), node("n", corev1.Taint{Key: "dedicated", Value: "user1", Effect: corev1.TaintEffectNoSchedule}),
			framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}"},
		{"tolerated by Equal", podTolerating(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "user1", Effect: corev1.TaintEffectNoSchedule}),
			node("n", corev1.Taint{Key: "dedicated", Value: "user1", Effect: corev1.TaintEffectNoSchedule}), framework.Success, ""},
		{"value mismatch", podTolerating(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "user2", Effect: corev1.TaintEffectNoSchedule}),
			node("n", corev1.Taint{Key: "dedicated", Value: "user1", Effect: corev1.TaintEffectNoSchedule}), framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}"},
		{"Exists tolerates any value", podTolerating(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists}),
			node("n", corev1.Taint{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoExecute}), framework.Success, ""},
		{"PreferNoSchedule never filters", podTolerating(), node("n", corev1.Taint{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}), framework.Success, ""},
	}
	for _, tt := range tests {
		st := TaintToleration{}.Filter(framework.NewCycleState(), tt.pod, tt.node)
		if st.Code() != tt.code || st.Message() != tt.msg {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, st.Code(), st.Message(), tt.code, tt.msg)
		}
	}
}

// TestScore reproduces upstream's "the more intolerable taints a node has, the lower its
// score": counts 0, 1, 2, 3 normalise (reverse, max 3) to 100, 100-100*1/3=67, 100-66=34, 0.
func TestScore(t *testing.T) {
	prefer := func(k string) corev1.Taint {
		return corev1.Taint{Key: k, Value: "v", Effect: corev1.TaintEffectPreferNoSchedule}
	}
	pod := podTolerating(
		corev1.Toleration{Key: "tolerated", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectPreferNoSchedule},
		// A NoSchedule toleration does not count against PreferNoSchedule taints.
		corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	)
	nodes := []*framework.NodeInfo{
		node("n0", prefer("tolerated"), corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoSchedule}),
		node("n1", prefer("a")),
		node("n2", prefer("a"), prefer("b"), prefer("tolerated")),
		node("n3", prefer("a"), prefer("b"), prefer("c")),
	}
	for _, withPreScore := range []bool{true, false} {
		state := framework.NewCycleState()
		if withPreScore {
			TaintToleration{}.PreScore(state, pod, nodes)
		}
		scores := make([]framework.NodeScore, len(nodes))
		for i, n := range nodes {
			s, _ := TaintToleration{}.Score(state, pod, n)
			scores[i] = framework.NodeScore{Name: n.Name(), Score: s}
		}
		TaintToleration{}.NormalizeScore(state, pod, scores)
		want := []int64{100, 67, 34, 0}
		for i := range want {
			if scores[i].Score != want[i] {
				t.Errorf("preScore=%v: %s scored %d, want %d", withPreScore, scores[i].Name, scores[i].Score, want[i])
			}
		}
	}
}

func TestNormalizeAllZero(t *testing.T) {
	scores := []framework.NodeScore{{Name: "a"}, {Name: "b"}}
	TaintToleration{}.NormalizeScore(nil, nil, scores)
	if scores[0].Score != 100 || scores[1].Score != 100 {
		t.Fatalf("all-zero counts normalise to %v, want 100 each", scores)
	}
}

// TestFilterMatchesHelper checks the allocation-free Filter against component-helpers'
// FindMatchingUntoleratedTaint on mixed taints and tolerations.
func TestFilterMatchesHelper(t *testing.T) {
	taints := []corev1.Taint{
		{Key: "a", Value: "1", Effect: corev1.TaintEffectPreferNoSchedule},
		{Key: "b", Value: "2", Effect: corev1.TaintEffectNoExecute},
		{Key: "c", Value: "3", Effect: corev1.TaintEffectNoSchedule},
	}
	tolSets := [][]corev1.Toleration{
		nil,
		{{Key: "b", Operator: corev1.TolerationOpExists}},
		{{Key: "b", Operator: corev1.TolerationOpExists}, {Key: "c", Operator: corev1.TolerationOpEqual, Value: "3"}},
		{{Operator: corev1.TolerationOpExists}},
		{{Key: "c", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
	for i, tols := range tolSets {
		want, untolerated := corev1helpers.FindMatchingUntoleratedTaint(taints, tols, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		})
		got := firstUntoleratedTaint(taints, tols)
		if (got != nil) != untolerated || (got != nil && got.Key != want.Key) {
			t.Errorf("tolerations %d: got %v, helper %v %v", i, got, want, untolerated)
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	n := node("n", corev1.Taint{Key: "x", Effect: corev1.TaintEffectPreferNoSchedule}, corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
	pod := podTolerating(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists})
	b.ReportAllocs()
	for b.Loop() {
		if !(TaintToleration{}).Filter(nil, pod, n).IsSuccess() {
			b.Fatal("rejected")
		}
	}
}
