package interpodaffinity

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// TestScore checks normalised scores: weights summed per domain, then min–max onto
// [0, 100] with truncation.
func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		node("n1", map[string]string{zone: "a"}),
		node("n2", map[string]string{zone: "a"}),
		node("n3", map[string]string{zone: "b"}),
		node("n4", nil),
	}
	web := func(name, n string) *corev1.Pod { return pod("default", name, map[string]string{"app": "web"}, n) }
	db := func(name, n string) *corev1.Pod { return pod("default", name, map[string]string{"app": "db"}, n) }
	tests := []struct {
		name string
		args runtime.Object
		pod  *corev1.Pod
		pods []*corev1.Pod
		ns   map[string]map[string]string
		want []int64
	}{
		{
			name: "no affinity anywhere: all 0",
			pod:  web("p", ""),
			pods: []*corev1.Pod{db("d", "n1")},
			want: []int64{0, 0, 0, 0},
		},
		{
			name: "preferred affinity by zone",
			pod:  withPreferred(web("p", ""), 5, term(sel("app", "db"), zone)),
			pods: []*corev1.Pod{db("d", "n1")},
			want: []int64{100, 100, 0, 0},
		},
		{
			name: "preferred anti-affinity by hostname and affinity by zone",
			pod: withPreferredAnti(withPreferred(web("p", ""), 5, term(sel("app", "db"), zone)),
				10, term(sel("app", "web"), corev1.LabelHostname)),
			pods: []*corev1.Pod{web("w", "n1"), db("d", "n3")},
			// n1 -10, n2 0, n3 5, n4 0: (s+10)*100/15 truncated.
			want: []int64{0, 66, 100, 66},
		},
		{
			name: "existing pod's required affinity the pod matches, hardPodAffinityWeight 1",
			pod:  web("p", ""),
			pods: []*corev1.Pod{withAffinity(db("d", "n3"), term(sel("app", "web"), zone))},
			want: []int64{0, 0, 100, 0},
		},
		{
			name: "hardPodAffinityWeight 0 turns that off",
			args: &unstructured.Unstructured{Object: map[string]any{"hardPodAffinityWeight": int64(0)}},
			pod:  web("p", ""),
			pods: []*corev1.Pod{withAffinity(db("d", "n3"), term(sel("app", "web"), zone))},
			want: []int64{0, 0, 0, 0},
		},
		{
			name: "existing pods' preferred affinity and anti-affinity",
			pod:  web("p", ""),
			pods: []*corev1.Pod{
				withPreferredAnti(db("d1", "n1"), 7, term(sel("app", "web"), corev1.LabelHostname)),
				withPreferred(db("d2", "n3"), 3, term(sel("app", "web"), zone)),
			},
			// n1 -7, n2 0, n3 3, n4 0.
			want: []int64{0, 70, 100, 70},
		},
		{
			name: "hard weight and preferred terms add up per domain",
			args: &unstructured.Unstructured{Object: map[string]any{"hardPodAffinityWeight": int64(4)}},
			pod:  withPreferred(web("p", ""), 2, term(sel("app", "db"), corev1.LabelHostname)),
			pods: []*corev1.Pod{
				withAffinity(db("d1", "n1"), term(sel("app", "web"), zone)),
				db("d2", "n3"),
			},
			// zone a +4 (n1, n2), host n1 +2, host n3 +2: n1 6, n2 4, n3 2, n4 0.
			want: []int64{100, 66, 33, 0},
		},
		{
			name: "preferred affinity with a namespaceSelector",
			pod: withPreferred(web("p", ""), 5, corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: corev1.LabelHostname, NamespaceSelector: sel("team", "data")}),
			pods: []*corev1.Pod{
				pod("data", "d1", map[string]string{"app": "db"}, "n2"),
				pod("web", "d2", map[string]string{"app": "db"}, "n3"),
				db("d3", "n1"),
			},
			ns:   map[string]map[string]string{"data": {"team": "data"}},
			want: []int64{0, 100, 0, 0},
		},
		{
			name: "ignorePreferredTermsOfExistingPods without own preferred terms: all 0",
			args: &unstructured.Unstructured{Object: map[string]any{"ignorePreferredTermsOfExistingPods": true}},
			pod:  web("p", ""),
			pods: []*corev1.Pod{withPreferred(db("d2", "n3"), 3, term(sel("app", "web"), zone))},
			want: []int64{0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := cluster(nodes, tt.pods, tt.ns)
			p, err := New(tt.args, h)
			if err != nil {
				t.Fatal(err)
			}
			pl := p.(*InterPodAffinity)
			state := framework.NewCycleState()
			if st := pl.PreScore(state, tt.pod, h.Nodes); !st.IsSuccess() && st.Code() != framework.Skip {
				t.Fatalf("PreScore: %s", st.Message())
			}
			scores := make([]framework.NodeScore, len(h.Nodes))
			for i, ni := range h.Nodes {
				s, st := pl.Score(state, tt.pod, ni)
				if !st.IsSuccess() {
					t.Fatalf("Score: %s", st.Message())
				}
				scores[i] = framework.NodeScore{Name: ni.Name(), Score: s}
			}
			if st := pl.NormalizeScore(state, tt.pod, scores); !st.IsSuccess() {
				t.Fatalf("NormalizeScore: %s", st.Message())
			}
			got := make([]int64, len(scores))
			for i := range scores {
				got[i] = scores[i].Score
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scores %v, want %v", got, tt.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	if _, err := New(&unstructured.Unstructured{Object: map[string]any{"hardPodAffinityWeight": int64(101)}}, &fakeHandle{}); err == nil {
		t.Error("hardPodAffinityWeight 101 accepted")
	}
}

// benchCluster is 5,000 nodes in 10 zones with 10 pods each; withAnti gives every
// existing pod a required anti-affinity term too.
func benchCluster(withAnti bool) *fakeHandle {
	var nodes []*corev1.Node
	var pods []*corev1.Pod
	for i := 0; i < 5000; i++ {
		n := fmt.Sprintf("node-%04d", i)
		nodes = append(nodes, node(n, map[string]string{zone: fmt.Sprintf("zone-%d", i%10)}))
		for j := 0; j < 10; j++ {
			p := pod("default", fmt.Sprintf("p-%04d-%d", i, j), map[string]string{"app": fmt.Sprintf("app-%d", (i*10+j)%50)}, n)
			if withAnti {
				withAntiAffinity(p, term(sel("app", p.Labels["app"]), corev1.LabelHostname))
			}
			pods = append(pods, p)
		}
	}
	h := &fakeHandle{}
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
	}
	for _, n := range nodes {
		ni := framework.NewNodeInfo(n)
		for _, p := range byNode[n.Name] {
			ni.AddPod(p.Namespace+"/"+p.Name, framework.NewPodInfo(p))
		}
		h.Nodes = append(h.Nodes, ni)
	}
	return h
}

func benchmarkFilter(b *testing.B, withAnti bool) {
	h := benchCluster(withAnti)
	p, _ := New(nil, h)
	pl := p.(*InterPodAffinity)
	in := withAntiAffinity(pod("default", "in", map[string]string{"app": "app-7"}, ""), term(sel("app", "app-7"), corev1.LabelHostname))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		state := framework.NewCycleState()
		pl.PreFilter(state, in)
		for _, ni := range h.Nodes {
			pl.Filter(state, in, ni)
		}
	}
}

// BenchmarkPreFilterFilter is one cycle over 5,000 nodes × 10 pods for a pod with one
// required anti-affinity term.
func BenchmarkPreFilterFilter(b *testing.B) { benchmarkFilter(b, false) }

// BenchmarkPreFilterFilterExistingAnti is the same with every existing pod carrying a
// required anti-affinity term.
func BenchmarkPreFilterFilterExistingAnti(b *testing.B) { benchmarkFilter(b, true) }
