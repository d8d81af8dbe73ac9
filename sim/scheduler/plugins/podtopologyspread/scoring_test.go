package podtopologyspread

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func owned(p *corev1.Pod) *corev1.Pod {
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", Controller: &yes}}
	return p
}

func web(name, nodeName string) *corev1.Pod {
	return owned(pod("default", name, map[string]string{"app": "web"}, nodeName))
}

// TestScore checks normalised scores: upstream's log(size+2) weights, maxSkew-1 offsets,
// rounding and MaxNodeScore*(max+min-s)/max.
func TestScore(t *testing.T) {
	mixed := []*corev1.Node{
		node("node-a", map[string]string{zone: "zone1"}),
		node("node-b", map[string]string{zone: "zone1"}),
		node("node-x", map[string]string{zone: "zone2"}),
		node("node-n", nil),
	}
	listArgs := &unstructured.Unstructured{Object: map[string]any{
		"defaultingType": "List",
		"defaultConstraints": []any{
			map[string]any{"maxSkew": int64(1), "topologyKey": zone, "whenUnsatisfiable": "ScheduleAnyway"},
		},
	}}
	tests := []struct {
		name  string
		args  runtime.Object
		pod   *corev1.Pod
		nodes []*corev1.Node
		pods  []*corev1.Pod
		want  []int64
	}{
		{
			name:  "one constraint on node, no existing pods",
			pod:   spread(foo("default", "p", ""), 1, host, corev1.ScheduleAnyway, fooExists),
			nodes: []*corev1.Node{node("node-a", nil), node("node-b", nil)},
			want:  []int64{100, 100},
		},
		{
			name:  "one constraint on node, all 4 nodes are candidates, spread 2/1/0/3",
			pod:   spread(foo("default", "p", ""), 1, host, corev1.ScheduleAnyway, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			// log(6) weights: 3.58→4, 1.79→2, 0, 5.38→5.
			want: []int64{20, 60, 100, 0},
		},
		{
			name:  "one constraint on zone, spread 3/3",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.ScheduleAnyway, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			want:  []int64{100, 100, 100, 100},
		},
		{
			name:  "one constraint on zone, spread 1/3",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.ScheduleAnyway, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-x1", "node-x"), foo("default", "p-x2", "node-x"), foo("default", "p-y1", "node-y")},
			// log(4) weight: 1.39→1, 4.16→4.
			want: []int64{100, 100, 25, 25},
		},
		{
			name:  "node without the key is ignored and scores 0",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.ScheduleAnyway, fooExists),
			nodes: mixed,
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a")},
			want:  []int64{0, 0, 100, 0},
		},
		{
			name:  "system defaults: ReplicaSet pod spread by zone (maxSkew 5) and hostname (maxSkew 3)",
			pod:   web("p", ""),
			nodes: mixed,
			pods:  []*corev1.Pod{web("w1", "node-a"), web("w2", "node-a"), web("w3", "node-x")},
			// zone weight log(3+2) (zone1, zone2 and the empty value of node-n), hostname
			// log(4+2): node-a 2*1.609+4 + 2*1.792+2 = 12.80→13; node-b 9.22→9;
			// node-x 5.61+3.79 = 9.40→9; node-n has no zone, 0+2 = 2.
			want: []int64{15, 46, 46, 100},
		},
		{
			name:  "system defaults skip a pod without a workload controller",
			pod:   pod("default", "p", map[string]string{"app": "web"}, ""),
			nodes: mixed,
			pods:  []*corev1.Pod{web("w1", "node-a")},
			want:  []int64{0, 0, 0, 0},
		},
		{
			name:  "List defaulting applies the configured constraints; nodes must have every key",
			args:  listArgs,
			pod:   web("p", ""),
			nodes: mixed,
			pods:  []*corev1.Pod{web("w1", "node-a"), web("w2", "node-a"), web("w3", "node-x")},
			// log(4) weight: zone1 2.77→3, zone2 1.39→1; node-n ignored.
			want: []int64{33, 33, 100, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := cluster(tt.nodes, tt.pods, nil)
			p, err := New(tt.args, h)
			if err != nil {
				t.Fatal(err)
			}
			pl := p.(*PodTopologySpread)
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
	bad := []*unstructured.Unstructured{
		{Object: map[string]any{"defaultingType": "Other"}},
		{Object: map[string]any{"defaultingType": "System", "defaultConstraints": []any{map[string]any{"maxSkew": int64(1), "topologyKey": zone, "whenUnsatisfiable": "ScheduleAnyway"}}}},
		{Object: map[string]any{"defaultingType": "List", "defaultConstraints": []any{map[string]any{"maxSkew": int64(0), "topologyKey": zone, "whenUnsatisfiable": "ScheduleAnyway"}}}},
		{Object: map[string]any{"defaultingType": "List", "defaultConstraints": []any{map[string]any{"maxSkew": int64(1), "topologyKey": zone, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": map[string]any{}}}}},
	}
	for i, a := range bad {
		if _, err := New(a, &fakeHandle{}); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}
