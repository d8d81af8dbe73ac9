package podtopologyspread

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

const (
	zone = corev1.LabelTopologyZone
	host = corev1.LabelHostname
	ok   = ""
	skew = ErrReasonConstraintsNotMatch
	lbl  = ErrReasonNodeLabelNotMatch
)

var fooExists = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "foo", Operator: metav1.LabelSelectorOpExists}}}

func foo(ns, name, nodeName string) *corev1.Pod {
	return pod(ns, name, map[string]string{"foo": ""}, nodeName)
}

func minDomains(n int32) func(*corev1.TopologySpreadConstraint) {
	return func(c *corev1.TopologySpreadConstraint) { c.MinDomains = &n }
}

func policies(aff, taints *corev1.NodeInclusionPolicy) func(*corev1.TopologySpreadConstraint) {
	return func(c *corev1.TopologySpreadConstraint) { c.NodeAffinityPolicy, c.NodeTaintsPolicy = aff, taints }
}

func fourNodes() []*corev1.Node {
	return []*corev1.Node{
		node("node-a", map[string]string{zone: "zone1"}),
		node("node-b", map[string]string{zone: "zone1"}),
		node("node-x", map[string]string{zone: "zone2"}),
		node("node-y", map[string]string{zone: "zone2"}),
	}
}

// TestFilter reproduces cases of upstream's TestSingleConstraint and
// TestMultipleConstraints (filtering_test.go).
func TestFilter(t *testing.T) {
	honor, ignore := corev1.NodeInclusionPolicyHonor, corev1.NodeInclusionPolicyIgnore
	tests := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*corev1.Node
		pods  []*corev1.Pod
		want  map[string]string
	}{
		{
			name:  "no existing pods",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": ok},
		},
		{
			name:  "no existing pods, incoming pod doesn't match itself",
			pod:   spread(pod("default", "p", nil, ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": ok},
		},
		{
			name:  "existing pods in a different namespace do not count",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("ns1", "p-a1", "node-a"), foo("default", "p-b1", "node-b"), foo("ns2", "p-x1", "node-x"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y")},
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": skew, "node-y": skew},
		},
		{
			name:  "pods spread across zones as 3/3, all nodes fit",
			pod:   spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": ok},
		},
		{
			name: "pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
			pod:  spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: []*corev1.Node{
				node("node-a", map[string]string{zone: "zone1"}),
				node("node-b", nil),
				node("node-x", map[string]string{zone: "zone2"}),
				node("node-y", map[string]string{zone: "zone2"}),
			},
			pods: []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-x1", "node-x"), foo("default", "p-y1", "node-y")},
			want: map[string]string{"node-a": ok, "node-b": lbl, "node-x": skew, "node-y": skew},
		},
		{
			name:  "pod cannot be scheduled as all nodes don't have label 'rack'",
			pod:   spread(foo("default", "p", ""), 1, "rack", corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			want:  map[string]string{"node-a": lbl, "node-b": lbl, "node-x": lbl, "node-y": lbl},
		},
		{
			name:  "pods spread across nodes as 2/1/0/3, only node-x fits",
			pod:   spread(foo("default", "p", ""), 1, host, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			want:  map[string]string{"node-a": skew, "node-b": skew, "node-x": ok, "node-y": skew},
		},
		{
			name:  "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
			pod:   spread(foo("default", "p", ""), 2, host, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			want:  map[string]string{"node-a": skew, "node-b": ok, "node-x": ok, "node-y": skew},
		},
		{
			name:  "terminating pods are not counted",
			pod:   spread(foo("default", "p", ""), 1, host, corev1.DoNotSchedule, fooExists),
			nodes: []*corev1.Node{node("node-a", nil), node("node-b", nil)},
			pods: []*corev1.Pod{foo("default", "p-a", "node-a"), func() *corev1.Pod {
				p := foo("default", "p-b", "node-b")
				p.DeletionTimestamp = &metav1.Time{}
				return p
			}()},
			want: map[string]string{"node-a": skew, "node-b": ok},
		},
		{
			name: "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
			pod: func() *corev1.Pod {
				p := spread(foo("default", "p", ""), 1, host, corev1.DoNotSchedule, fooExists)
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: host, Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a", "node-y"}}}}},
				}}}
				return p
			}(),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			// Only node-a and node-y are domains (min 2): node-a 2+1-2 = 1, node-y 3+1-2 = 2.
			// node-b and node-x count 0; rejecting them is NodeAffinity's business.
			want: map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": skew},
		},
		{
			name: "nodeAffinityPolicy Ignore counts nodes outside the pod's node affinity",
			pod: func() *corev1.Pod {
				p := spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists, policies(&ignore, nil))
				p.Spec.NodeSelector = map[string]string{"foo": ""}
				return p
			}(),
			nodes: []*corev1.Node{
				node("node-a", map[string]string{zone: "zone1", "foo": ""}),
				node("node-x", map[string]string{zone: "zone2"}),
			},
			pods: []*corev1.Pod{foo("default", "p-a1", "node-a")},
			// zone2 counts (0) with Ignore: zone1 is 1+1-0 = 2 > 1.
			want: map[string]string{"node-a": skew, "node-x": ok},
		},
		{
			name: "nodeAffinityPolicy Honor (default) leaves out nodes outside the pod's node affinity",
			pod: func() *corev1.Pod {
				p := spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists)
				p.Spec.NodeSelector = map[string]string{"foo": ""}
				return p
			}(),
			nodes: []*corev1.Node{
				node("node-a", map[string]string{zone: "zone1", "foo": ""}),
				node("node-x", map[string]string{zone: "zone2"}),
			},
			pods: []*corev1.Pod{foo("default", "p-a1", "node-a")},
			// zone2 is no domain: zone1 is the minimum, 1+1-1 = 1; zone2 0+1-1 = 0.
			want: map[string]string{"node-a": ok, "node-x": ok},
		},
		{
			name: "nodeTaintsPolicy Honor leaves out tainted nodes the pod does not tolerate",
			pod:  spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists, policies(nil, &honor)),
			nodes: []*corev1.Node{
				node("node-a", map[string]string{zone: "zone1"}),
				func() *corev1.Node {
					n := node("node-x", map[string]string{zone: "zone2"})
					n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}}
					return n
				}(),
			},
			pods: []*corev1.Pod{foo("default", "p-a1", "node-a")},
			want: map[string]string{"node-a": ok, "node-x": ok},
		},
		{
			name: "nodeTaintsPolicy Ignore (default) counts tainted nodes",
			pod:  spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
			nodes: []*corev1.Node{
				node("node-a", map[string]string{zone: "zone1"}),
				func() *corev1.Node {
					n := node("node-x", map[string]string{zone: "zone2"})
					n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}}
					return n
				}(),
			},
			pods: []*corev1.Pod{foo("default", "p-a1", "node-a")},
			want: map[string]string{"node-a": skew, "node-x": ok},
		},
		{
			name:  "minDomains 3 with 2 domains: global minimum is 0",
			pod:   spread(foo("default", "p", ""), 2, zone, corev1.DoNotSchedule, fooExists, minDomains(3)),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-x1", "node-x")},
			// zone1: 2+1-0 = 3 > 2; zone2: 1+1-0 = 2.
			want: map[string]string{"node-a": skew, "node-b": skew, "node-x": ok, "node-y": ok},
		},
		{
			name:  "minDomains 2 with 2 domains: the real global minimum",
			pod:   spread(foo("default", "p", ""), 2, zone, corev1.DoNotSchedule, fooExists, minDomains(2)),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-x1", "node-x")},
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": ok},
		},
		{
			name:  "minDomains 5 with 4 hostname domains, maxSkew 1: only empty nodes",
			pod:   spread(foo("default", "p", ""), 1, host, corev1.DoNotSchedule, fooExists, minDomains(5)),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-x1", "node-x")},
			want:  map[string]string{"node-a": skew, "node-b": skew, "node-x": skew, "node-y": ok},
		},
		{
			name: "two constraints on zone and node, spreads = [3/3, 2/1/0/3]",
			pod: spread(spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
				1, host, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y")},
			want:  map[string]string{"node-a": skew, "node-b": skew, "node-x": ok, "node-y": skew},
		},
		{
			name: "two constraints on zone and node, spreads = [3/4, 2/1/0/4]",
			pod: spread(spread(foo("default", "p", ""), 1, zone, corev1.DoNotSchedule, fooExists),
				1, host, corev1.DoNotSchedule, fooExists),
			nodes: fourNodes(),
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), foo("default", "p-a2", "node-a"), foo("default", "p-b1", "node-b"), foo("default", "p-y1", "node-y"), foo("default", "p-y2", "node-y"), foo("default", "p-y3", "node-y"), foo("default", "p-y4", "node-y")},
			// zone2 is 4+1-3 = 2; node-b is 1+1-0 = 2.
			want: map[string]string{"node-a": skew, "node-b": skew, "node-x": skew, "node-y": skew},
		},
		{
			name: "two constraints with the same key and different selectors count apart",
			pod: spread(spread(pod("default", "p", map[string]string{"foo": "", "bar": ""}, ""), 1, host, corev1.DoNotSchedule, fooExists),
				1, host, corev1.DoNotSchedule, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "bar", Operator: metav1.LabelSelectorOpExists}}}),
			nodes: []*corev1.Node{node("node-a", nil), node("node-b", nil)},
			pods:  []*corev1.Pod{foo("default", "p-a1", "node-a"), pod("default", "p-b1", map[string]string{"bar": ""}, "node-b")},
			want:  map[string]string{"node-a": skew, "node-b": skew},
		},
		{
			name: "matchLabelKeys narrows the selector to the pod's own value",
			pod: spread(pod("default", "p", map[string]string{"foo": "", "rev": "2"}, ""), 1, host, corev1.DoNotSchedule, fooExists,
				func(c *corev1.TopologySpreadConstraint) { c.MatchLabelKeys = []string{"rev"} }),
			nodes: []*corev1.Node{node("node-a", nil), node("node-b", nil)},
			pods: []*corev1.Pod{
				pod("default", "old1", map[string]string{"foo": "", "rev": "1"}, "node-a"),
				pod("default", "old2", map[string]string{"foo": "", "rev": "1"}, "node-a"),
				pod("default", "new", map[string]string{"foo": "", "rev": "2"}, "node-b"),
			},
			want: map[string]string{"node-a": ok, "node-b": skew},
		},
		{
			name:  "ScheduleAnyway constraints do not filter",
			pod:   spread(foo("default", "p", ""), 1, "rack", corev1.ScheduleAnyway, fooExists),
			nodes: fourNodes(),
			want:  map[string]string{"node-a": ok, "node-b": ok, "node-x": ok, "node-y": ok},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := cluster(tt.nodes, tt.pods, nil)
			p, err := New(nil, h)
			if err != nil {
				t.Fatal(err)
			}
			pl := p.(*PodTopologySpread)
			state := framework.NewCycleState()
			if st := pl.PreFilter(state, tt.pod); !st.IsSuccess() && st.Code() != framework.Skip {
				t.Fatalf("PreFilter: %s", st.Message())
			}
			for _, ni := range h.Nodes {
				st := pl.Filter(state, tt.pod, ni)
				if got := st.Message(); got != tt.want[ni.Name()] {
					t.Errorf("%s: got %q, want %q", ni.Name(), got, tt.want[ni.Name()])
				}
				want := framework.Success
				switch st.Message() {
				case skew:
					want = framework.Unschedulable
				case lbl:
					want = framework.UnschedulableAndUnresolvable
				}
				if st.Code() != want {
					t.Errorf("%s: code %v, want %v", ni.Name(), st.Code(), want)
				}
			}
		})
	}
}

// TestFilterClone checks that a what-if clone with a matching pod removed is judged on the
// reduced counts, as upstream's RemovePod extension makes it.
func TestFilterClone(t *testing.T) {
	h := cluster([]*corev1.Node{node("node-a", nil), node("node-b", nil)}, []*corev1.Pod{foo("default", "p-a1", "node-a")}, nil)
	p, _ := New(nil, h)
	pl := p.(*PodTopologySpread)
	in := spread(foo("default", "p", ""), 1, host, corev1.DoNotSchedule, fooExists)
	state := framework.NewCycleState()
	pl.PreFilter(state, in)
	if st := pl.Filter(state, in, h.Nodes[0]); st.Message() != skew {
		t.Fatalf("before removal: %q", st.Message())
	}
	clone := h.Nodes[0].Clone()
	clone.RemovePod("default/p-a1", clone.Pods["default/p-a1"])
	if st := pl.Filter(state, in, clone); !st.IsSuccess() {
		t.Fatalf("after removal: %q", st.Message())
	}
}
