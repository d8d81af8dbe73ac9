package interpodaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/framework/fake"
)

const zone = corev1.LabelTopologyZone

func TestFilter(t *testing.T) {
	zoneNodes := []*corev1.Node{
		node("n1", map[string]string{zone: "a"}),
		node("n2", map[string]string{zone: "a"}),
		node("n3", map[string]string{zone: "b"}),
		node("n4", nil),
	}
	ok := ""
	tests := []struct {
		name  string
		pod   *corev1.Pod
		pods  []*corev1.Pod
		ns    map[string]map[string]string
		nodes []*corev1.Node
		want  map[string]string // node → reason ("" fits)
	}{
		{
			name:  "no affinity anywhere fits everywhere",
			pod:   pod("default", "p", map[string]string{"app": "x"}, ""),
			pods:  []*corev1.Pod{pod("default", "e1", map[string]string{"app": "x"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ok, "n4": ok},
		},
		{
			name:  "required affinity by zone: only the zone with a match, node without zone label rejected",
			pod:   withAffinity(pod("default", "p", nil, ""), term(sel("app", "db"), zone)),
			pods:  []*corev1.Pod{pod("default", "db", map[string]string{"app": "db"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ErrReasonAffinityRulesNotMatch, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:  "required affinity matching a pod in another namespace does not count",
			pod:   withAffinity(pod("default", "p", nil, ""), term(sel("app", "db"), zone)),
			pods:  []*corev1.Pod{pod("other", "db", map[string]string{"app": "db"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAffinityRulesNotMatch, "n2": ErrReasonAffinityRulesNotMatch, "n3": ErrReasonAffinityRulesNotMatch, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name: "required affinity with explicit namespaces",
			pod: withAffinity(pod("default", "p", nil, ""), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zone, Namespaces: []string{"other"}}),
			pods:  []*corev1.Pod{pod("other", "db", map[string]string{"app": "db"}, "n3")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAffinityRulesNotMatch, "n2": ErrReasonAffinityRulesNotMatch, "n3": ok, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name: "required affinity with a namespaceSelector",
			pod: withAffinity(pod("default", "p", nil, ""), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zone, NamespaceSelector: sel("team", "data")}),
			pods: []*corev1.Pod{
				pod("data", "db", map[string]string{"app": "db"}, "n3"),
				pod("web", "db", map[string]string{"app": "db"}, "n1"),
			},
			ns:    map[string]map[string]string{"data": {"team": "data"}, "web": {"team": "web"}},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAffinityRulesNotMatch, "n2": ErrReasonAffinityRulesNotMatch, "n3": ok, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name: "empty namespaceSelector matches every namespace",
			pod: withAffinity(pod("default", "p", nil, ""), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zone, NamespaceSelector: &metav1.LabelSelector{}}),
			pods:  []*corev1.Pod{pod("web", "db", map[string]string{"app": "db"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ErrReasonAffinityRulesNotMatch, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:  "self-affinity, first pod of its group: any node with the topology key",
			pod:   withAffinity(pod("default", "p", map[string]string{"app": "web"}, ""), term(sel("app", "web"), zone)),
			pods:  []*corev1.Pod{pod("default", "other", map[string]string{"app": "db"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ok, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:  "self-affinity, a match exists: only its zone",
			pod:   withAffinity(pod("default", "p", map[string]string{"app": "web"}, ""), term(sel("app", "web"), zone)),
			pods:  []*corev1.Pod{pod("default", "w1", map[string]string{"app": "web"}, "n3")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAffinityRulesNotMatch, "n2": ErrReasonAffinityRulesNotMatch, "n3": ok, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:  "affinity not matching itself with no match anywhere fits nowhere",
			pod:   withAffinity(pod("default", "p", map[string]string{"app": "web"}, ""), term(sel("app", "db"), zone)),
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAffinityRulesNotMatch, "n2": ErrReasonAffinityRulesNotMatch, "n3": ErrReasonAffinityRulesNotMatch, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name:  "required anti-affinity by hostname",
			pod:   withAntiAffinity(pod("default", "p", map[string]string{"app": "web"}, ""), term(sel("app", "web"), corev1.LabelHostname)),
			pods:  []*corev1.Pod{pod("default", "w1", map[string]string{"app": "web"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAntiAffinityRulesNotMatch, "n2": ok, "n3": ok, "n4": ok},
		},
		{
			name:  "required anti-affinity by zone; a node without the key passes",
			pod:   withAntiAffinity(pod("default", "p", map[string]string{"app": "web"}, ""), term(sel("app", "web"), zone)),
			pods:  []*corev1.Pod{pod("default", "w1", map[string]string{"app": "web"}, "n1")},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAntiAffinityRulesNotMatch, "n2": ErrReasonAntiAffinityRulesNotMatch, "n3": ok, "n4": ok},
		},
		{
			name: "existing pod's anti-affinity repels the incoming pod from its zone",
			pod:  pod("default", "p", map[string]string{"app": "web"}, ""),
			pods: []*corev1.Pod{
				withAntiAffinity(pod("default", "e", map[string]string{"app": "db"}, "n3"), term(sel("app", "web"), zone)),
			},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ErrReasonExistingAntiAffinityRulesNotMatch, "n4": ok},
		},
		{
			name: "existing pod's anti-affinity with a namespaceSelector on the incoming pod's namespace",
			pod:  pod("web", "p", map[string]string{"app": "web"}, ""),
			pods: []*corev1.Pod{
				withAntiAffinity(pod("db", "e", map[string]string{"app": "db"}, "n1"), corev1.PodAffinityTerm{
					LabelSelector: sel("app", "web"), TopologyKey: corev1.LabelHostname,
					NamespaceSelector: sel(corev1.LabelMetadataName, "web")}),
			},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonExistingAntiAffinityRulesNotMatch, "n2": ok, "n3": ok, "n4": ok},
		},
		{
			name: "affinity is checked before anti-affinity",
			pod: withAntiAffinity(withAffinity(pod("default", "p", map[string]string{"app": "web"}, ""),
				term(sel("app", "db"), zone)), term(sel("app", "web"), corev1.LabelHostname)),
			pods: []*corev1.Pod{
				pod("default", "db", map[string]string{"app": "db"}, "n1"),
				pod("default", "w", map[string]string{"app": "web"}, "n1"),
			},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ErrReasonAntiAffinityRulesNotMatch, "n2": ok, "n3": ErrReasonAffinityRulesNotMatch, "n4": ErrReasonAffinityRulesNotMatch},
		},
		{
			name: "matchLabelKeys narrows the selector to the pod's own value",
			pod: withAntiAffinity(pod("default", "p", map[string]string{"app": "web", "rev": "2"}, ""), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "web"), TopologyKey: corev1.LabelHostname, MatchLabelKeys: []string{"rev"}}),
			pods: []*corev1.Pod{
				pod("default", "old", map[string]string{"app": "web", "rev": "1"}, "n1"),
				pod("default", "new", map[string]string{"app": "web", "rev": "2"}, "n2"),
			},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ErrReasonAntiAffinityRulesNotMatch, "n3": ok, "n4": ok},
		},
		{
			name: "mismatchLabelKeys excludes the pod's own value",
			pod: withAntiAffinity(pod("default", "p", map[string]string{"app": "web", "tenant": "a"}, ""), corev1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tenant", Operator: metav1.LabelSelectorOpExists}}},
				TopologyKey:   zone, MismatchLabelKeys: []string{"tenant"}}),
			pods: []*corev1.Pod{
				pod("default", "same", map[string]string{"tenant": "a"}, "n1"),
				pod("default", "other", map[string]string{"tenant": "b"}, "n3"),
			},
			nodes: zoneNodes,
			want:  map[string]string{"n1": ok, "n2": ok, "n3": ErrReasonAntiAffinityRulesNotMatch, "n4": ok},
		},
	}
	for _, tt := range tests {
		// Each case runs over a plain handle (PreFilter scans every pod) and over one with
		// the scheduler's label index and affinity lists (PreFilter visits candidates).
		for _, indexed := range []bool{false, true} {
			name := tt.name
			if indexed {
				name += "/indexed"
			}
			t.Run(name, func(t *testing.T) {
				h := cluster(tt.nodes, tt.pods, tt.ns)
				var handle framework.Handle = h
				if indexed {
					handle = indexedHandle{h}
				}
				p, err := New(nil, handle)
				if err != nil {
					t.Fatal(err)
				}
				pl := p.(*InterPodAffinity)
				state := framework.NewCycleState()
				if st := pl.PreFilter(state, tt.pod); !st.IsSuccess() && st.Code() != framework.Skip {
					t.Fatalf("PreFilter: %v", st.Message())
				}
				for _, ni := range h.Nodes {
					st := pl.Filter(state, tt.pod, ni)
					if got := st.Message(); got != tt.want[ni.Name()] {
						t.Errorf("node %s: got %q, want %q", ni.Name(), got, tt.want[ni.Name()])
					}
					if st.Message() == ErrReasonAffinityRulesNotMatch && st.Code() != framework.UnschedulableAndUnresolvable {
						t.Errorf("node %s: affinity failure code %v, want UnschedulableAndUnresolvable", ni.Name(), st.Code())
					}
				}
			})
		}
	}
}

// indexedHandle adds to the fake handle what the scheduler's handle offers: the lists of
// nodes with affinity pods and the pod label index.
type indexedHandle struct{ *fake.Handle }

func (h indexedHandle) NodeInfosWithAffinity() []*framework.NodeInfo {
	var out []*framework.NodeInfo
	for _, ni := range h.Nodes {
		if len(ni.PodsWithAffinity) > 0 {
			out = append(out, ni)
		}
	}
	return out
}

func (h indexedHandle) NodeInfosWithRequiredAntiAffinity() []*framework.NodeInfo {
	var out []*framework.NodeInfo
	for _, ni := range h.Nodes {
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			out = append(out, ni)
		}
	}
	return out
}

func (h indexedHandle) PodsWithLabel(key, value string, fn func(*framework.PodInfo, *framework.NodeInfo)) {
	for _, ni := range h.Nodes {
		for _, pi := range ni.PodList() {
			if v, ok := pi.Pod.Labels[key]; ok && v == value {
				fn(pi, ni)
			}
		}
	}
}

// TestFilterClone checks that a what-if clone with the offending pod removed passes, as
// upstream's RemovePod extension makes it.
func TestFilterClone(t *testing.T) {
	nodes := []*corev1.Node{node("n1", nil), node("n2", nil)}
	victim := withAntiAffinity(pod("default", "v", map[string]string{"app": "db"}, "n1"), term(sel("app", "web"), corev1.LabelHostname))
	h := cluster(nodes, []*corev1.Pod{victim}, nil)
	p, _ := New(nil, h)
	pl := p.(*InterPodAffinity)
	in := pod("default", "p", map[string]string{"app": "web"}, "")
	state := framework.NewCycleState()
	pl.PreFilter(state, in)
	if st := pl.Filter(state, in, h.Nodes[0]); st.Message() != ErrReasonExistingAntiAffinityRulesNotMatch {
		t.Fatalf("before removal: %q", st.Message())
	}
	clone := h.Nodes[0].Clone()
	clone.RemovePod("default/v", clone.Pods["default/v"])
	if st := pl.Filter(state, in, clone); !st.IsSuccess() {
		t.Fatalf("after removal: %q", st.Message())
	}
	if st := pl.Filter(state, in, h.Nodes[0]); st.Message() != ErrReasonExistingAntiAffinityRulesNotMatch {
		t.Fatalf("original after clone: %q", st.Message())
	}
}
