package noderesources

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

const gpu = corev1.ResourceName("nvidia.com/gpu")

// res builds a resource list from name/quantity pairs.
func res(kv ...string) corev1.ResourceList {
	rl := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		rl[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return rl
}

func podReq(kv ...string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: res(kv...)}}}}}
}

func podWith(cpu, mem string) *corev1.Pod {
	var kv []string
	if cpu != "" {
		kv = append(kv, "cpu", cpu)
	}
	if mem != "" {
		kv = append(kv, "memory", mem)
	}
	return podReq(kv...)
}

func nodeAlloc(alloc corev1.ResourceList, running ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Allocatable: alloc}})
	for i, p := range running {
		ni.AddPod(string(rune('a'+i)), framework.NewPodInfo(p))
	}
	return ni
}

func nodeWith(cpu, mem, pods string, running ...*corev1.Pod) *framework.NodeInfo {
	return nodeAlloc(res("cpu", cpu, "memory", mem, "pods", pods), running...)
}

func mustFit(t *testing.T, args *configv1.NodeResourcesFitArgs) *Fit {
	t.Helper()
	var p framework.Plugin
	var err error
	if args == nil {
		p, err = NewFit(nil, nil)
	} else {
		p, err = NewFit(args, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Fit)
}

func TestFilter(t *testing.T) {
	plain := New(nil)
	ignoring := mustFit(t, &configv1.NodeResourcesFitArgs{IgnoredResources: []string{"example.com/aaa"}})
	ignoringGroup := mustFit(t, &configv1.NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com"}})
	tests := []struct {
		name string
		fit  *Fit
		pod  *corev1.Pod
		node *framework.NodeInfo
		code framework.Code
		want string // reasons joined, "" = fits
	}{
		{"fits", plain, podWith("1", "1Gi"), nodeWith("4", "8Gi", "110"), framework.Success, ""},
		{"cpu", plain, podWith("3", "1Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), framework.Unschedulable, "Insufficient cpu"},
		{"cpu and memory", plain, podWith("3", "8Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), framework.Unschedulable, "Insufficient cpu, Insufficient memory"},
		{"pods", plain, podWith("", ""), nodeWith("4", "8Gi", "1", podWith("", "")), framework.Unschedulable, "Too many pods"},
		{"pods first, then cpu", plain, podWith("4", ""), nodeWith("4", "8Gi", "1", podWith("1", "")), framework.Unschedulable, "Too many pods, Insufficient cpu"},
		{"exactly full", plain, podWith("2", "7Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), framework.Success, ""},
		// A request larger than the whole node cannot be helped by preemption.
		{"more cpu than the node has", plain, podWith("5", ""), nodeWith("4", "8Gi", "110"), framework.UnschedulableAndUnresolvable, "Insufficient cpu"},
		{"unresolvable memory beside resolvable cpu", plain, podWith("3", "9Gi"), nodeWith("4", "8Gi", "110", podWith("2", "")), framework.UnschedulableAndUnresolvable, "Insufficient cpu, Insufficient memory"},
		{"ephemeral-storage", plain, podReq("ephemeral-storage", "2Gi"), nodeAlloc(res("cpu", "1", "memory", "1Gi", "pods", "10", "ephemeral-storage", "3Gi"), podReq("ephemeral-storage", "2Gi")),
			framework.Unschedulable, "Insufficient ephemeral-storage"},
		// Extended resources fit like cpu: requested plus used against allocatable.
		{"gpu fits", plain, podReq("nvidia.com/gpu", "1"), nodeAlloc(res("pods", "10", "nvidia.com/gpu", "2"), podReq("nvidia.com/gpu", "1")), framework.Success, ""},
		{"gpu used up", plain, podReq("nvidia.com/gpu", "2"), nodeAlloc(res("pods", "10", "nvidia.com/gpu", "2"), podReq("nvidia.com/gpu", "1")), framework.Unschedulable, "Insufficient nvidia.com/gpu"},
		{"gpu missing from the node", plain, podReq("nvidia.com/gpu", "1"), nodeAlloc(res("pods", "10")), framework.UnschedulableAndUnresolvable, "Insufficient nvidia.com/gpu"},
		{"extended resources by name", plain, podReq("example.com/bbb", "1", "example.com/aaa", "1", "cpu", "2"), nodeAlloc(res("cpu", "1", "pods", "10")),
			framework.UnschedulableAndUnresolvable, "Insufficient cpu, Insufficient example.com/aaa, Insufficient example.com/bbb"},
		{"ignored resource", ignoring, podReq("example.com/aaa", "1", "example.com/bbb", "1"), nodeAlloc(res("pods", "10")), framework.UnschedulableAndUnresolvable, "Insufficient example.com/bbb"},
		{"ignored group", ignoringGroup, podReq("example.com/aaa", "1", "example.com/bbb", "1", "nvidia.com/gpu", "1"), nodeAlloc(res("pods", "10")), framework.UnschedulableAndUnresolvable, "Insufficient nvidia.com/gpu"},
		// hugepages are not extended resources: ignoring their group does not skip them.
		{"hugepages cannot be ignored", mustFit(t, &configv1.NodeResourcesFitArgs{IgnoredResources: []string{"hugepages-2Mi"}}), podReq("hugepages-2Mi", "2Mi", "memory", "2Mi"), nodeAlloc(res("pods", "10", "memory", "1Gi")),
			framework.UnschedulableAndUnresolvable, "Insufficient hugepages-2Mi"},
	}
	for _, tt := range tests {
		state := framework.NewCycleState()
		tt.fit.PreFilter(state, tt.pod)
		st := tt.fit.Filter(state, tt.pod, tt.node)
		if got := strings.Join(st.Reasons(), ", "); got != tt.want || st.Code() != tt.code {
			t.Errorf("%s: %v %q, want %v %q", tt.name, st.Code(), got, tt.code, tt.want)
		}
		// Without PreFilter the plugin computes the requests itself.
		if got := tt.fit.Filter(framework.NewCycleState(), tt.pod, tt.node); got.Code() != tt.code {
			t.Errorf("%s without PreFilter: %v, want %v", tt.name, got.Code(), tt.code)
		}
	}
}

func scoreNodes(t *testing.T, p interface {
	framework.PreScorePlugin
	framework.ScorePlugin
}, pod *corev1.Pod, nodes ...*framework.NodeInfo) []int64 {
	t.Helper()
	state := framework.NewCycleState()
	p.PreScore(state, pod, nodes)
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		s, st := p.Score(state, pod, n)
		if !st.IsSuccess() {
			t.Fatalf("score: %v", st.Message())
		}
		out[i] = s
	}
	return out
}

func eq(a, b []int64) bool {
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

func strategy(typ configv1.ScoringStrategyType, resources []configv1.ResourceSpec, shape ...configv1.UtilizationShapePoint) *configv1.NodeResourcesFitArgs {
	s := &configv1.ScoringStrategy{Type: typ, Resources: resources}
	if shape != nil {
		s.RequestedToCapacityRatio = &configv1.RequestedToCapacityRatioParam{Shape: shape}
	}
	return &configv1.NodeResourcesFitArgs{ScoringStrategy: s}
}

func TestScoreStrategies(t *testing.T) {
	cpuMem := []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}
	// Upstream's "differently sized nodes" case: pod 3000m / 5000 bytes on empty nodes
	// of 4000m/10000 and 6000m/10000.
	pod := podReq("cpu", "3", "memory", "5000")
	n1, n2 := nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10")), nodeAlloc(res("cpu", "6", "memory", "10000", "pods", "10"))
	tests := []struct {
		name  string
		args  *configv1.NodeResourcesFitArgs
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		// Least: n1 cpu (4000-3000)*100/4000=25, mem (10000-5000)*100/10000=50 → 75/2=37 (truncated);
		// n2 cpu 3000*100/6000=50, mem 50 → 50.
		{"least, defaults", nil, pod, []*framework.NodeInfo{n1, n2}, []int64{37, 50}},
		// Weights cpu 1, memory 2: n1 (25 + 2*50)/3 = 125/3 = 41.
		{"least, weighted", strategy(configv1.LeastAllocated, []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 2}}), pod, []*framework.NodeInfo{n1}, []int64{41}},
		// Most: n1 cpu 3000*100/4000=75, mem 50 → 125/2=62; n2 50, 50 → 50.
		{"most", strategy(configv1.MostAllocated, cpuMem), pod, []*framework.NodeInfo{n1, n2}, []int64{62, 50}},
		// Most caps an over-committed resource at 100: cpu 5000 on 4000 → 100; mem 50 → 75.
		{"most, over-committed", strategy(configv1.MostAllocated, cpuMem), podReq("cpu", "5", "memory", "5000"), []*framework.NodeInfo{n1}, []int64{75}},
		// Least gives an over-committed resource 0: cpu 0, mem 50 → 25.
		{"least, over-committed", nil, podReq("cpu", "5", "memory", "5000"), []*framework.NodeInfo{n1}, []int64{25}},
		// RequestedToCapacityRatio, shape (0,0)-(100,10) scaled to (0,0)-(100,100): n1 cpu
		// util 75 → 75, mem 50 → 50; mean 62.5 rounds to 63 (math.Round), not 62.
		{"rtcr rounds the mean", strategy(configv1.RequestedToCapacityRatio, cpuMem, configv1.UtilizationShapePoint{Utilization: 0, Score: 0}, configv1.UtilizationShapePoint{Utilization: 100, Score: 10}),
			pod, []*framework.NodeInfo{n1, n2}, []int64{63, 50}},
		// Falling segment (0,100)-(30,0): cpu 1000/10000 → util 10 → 100 + (-100*10)/30 =
		// 100 - 33 = 67 (truncation toward zero); memory util 50 → past the shape → 0, and a
		// zero resource score is left out of the mean, so the node scores 67, not 33.
		{"rtcr falling segment, zero scores left out", strategy(configv1.RequestedToCapacityRatio, cpuMem, configv1.UtilizationShapePoint{Utilization: 0, Score: 10}, configv1.UtilizationShapePoint{Utilization: 30, Score: 0}),
			podReq("cpu", "1", "memory", "5000"), []*framework.NodeInfo{nodeAlloc(res("cpu", "10", "memory", "10000", "pods", "10"))}, []int64{67}},
		// Over-committed cpu takes the shape at 100: (0,0)-(50,5)-(100,10) → 100; memory
		// util 25 → 0 + 50*25/50 = 25; weights 3 and 1 → (300+25)/4 = 81.25 → 81.
		{"rtcr over-committed and weights", strategy(configv1.RequestedToCapacityRatio, []configv1.ResourceSpec{{Name: "cpu", Weight: 3}, {Name: "memory", Weight: 1}},
			configv1.UtilizationShapePoint{Utilization: 0, Score: 0}, configv1.UtilizationShapePoint{Utilization: 50, Score: 5}, configv1.UtilizationShapePoint{Utilization: 100, Score: 10}),
			podReq("cpu", "5", "memory", "2500"), []*framework.NodeInfo{n1}, []int64{81}},
		// An extended resource the pod does not request is left out: gpu weight 3 would
		// otherwise count. Node with 4 gpus, pod asks none: (25+50)/2 = 37.
		{"unrequested gpu not scored", strategy(configv1.LeastAllocated, []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}, {Name: string(gpu), Weight: 3}}),
			pod, []*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10", "nvidia.com/gpu", "4"))}, []int64{37}},
		// Requested gpu 1 of 4 with 1 used: (4-2)*100/4 = 50. The running pod requests no
		// cpu or memory, so it counts 100m and 200Mi: cpu (4000-3100)*100/4000 = 22, memory
		// 200Mi+5000 > 10000 → 0. (22 + 0 + 3*50)/5 = 172/5 = 34.
		{"requested gpu scored", strategy(configv1.LeastAllocated, []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}, {Name: string(gpu), Weight: 3}}),
			podReq("cpu", "3", "memory", "5000", "nvidia.com/gpu", "1"), []*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10", "nvidia.com/gpu", "4"), podReq("nvidia.com/gpu", "1"))}, []int64{34}},
		// Non-zero defaults: a pod requesting nothing counts 100m and 200Mi, and so does a
		// running pod requesting nothing. Node 1000m/1000Mi with one such pod:
		// cpu (1000-200)*100/1000 = 80, mem (1000-400)*100/1000 = 60 → 70.
		{"non-zero defaults", nil, podWith("", ""), []*framework.NodeInfo{nodeWith("1", "1000Mi", "110", podWith("", ""))}, []int64{70}},
		// A node without the resource at all is not scored on it: no memory → cpu only, 25.
		{"node without memory", nil, pod, []*framework.NodeInfo{nodeAlloc(res("cpu", "4", "pods", "10"))}, []int64{25}},
	}
	for _, tt := range tests {
		f := mustFit(t, tt.args)
		if got := scoreNodes(t, f, tt.pod, tt.nodes...); !eq(got, tt.want) {
			t.Errorf("%s: scores %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestScoreWithoutPreScore(t *testing.T) {
	f := New(nil)
	pod := podWith("1", "2Gi")
	// cpu: (4-1-1)/4 = 50; memory: (8-2-2)/8 = 50 → 50. Empty node: 75 and 75 → 75.
	state := framework.NewCycleState()
	half, _ := f.Score(state, pod, nodeWith("4", "8Gi", "110", podWith("1", "2Gi")))
	empty, _ := f.Score(state, pod, nodeWith("4", "8Gi", "110"))
	if half != 50 || empty != 75 {
		t.Fatalf("scores %d and %d, want 50 and 75", half, empty)
	}
}

func TestNewFitArgs(t *testing.T) {
	if _, err := NewFit(&configv1.NodeResourcesBalancedAllocationArgs{}, nil); err == nil || !strings.Contains(err.Error(), "want args to be of type NodeResourcesFitArgs") {
		t.Errorf("wrong args type: err %v", err)
	}
	bad := []*configv1.NodeResourcesFitArgs{
		strategy("Bogus", nil),
		strategy(configv1.RequestedToCapacityRatio, nil),
		strategy(configv1.RequestedToCapacityRatio, nil, configv1.UtilizationShapePoint{Utilization: 50, Score: 1}, configv1.UtilizationShapePoint{Utilization: 50, Score: 2}),
		strategy(configv1.RequestedToCapacityRatio, nil, configv1.UtilizationShapePoint{Utilization: 0, Score: 11}),
		strategy(configv1.LeastAllocated, []configv1.ResourceSpec{{Name: "cpu", Weight: 101}}),
	}
	for i, a := range bad {
		if _, err := NewFit(a, nil); err == nil {
			t.Errorf("bad args %d accepted", i)
		}
	}
	// A zero weight defaults to 1, and the caller's args are not modified.
	a := strategy(configv1.LeastAllocated, []configv1.ResourceSpec{{Name: "cpu"}})
	if _, err := NewFit(a, nil); err != nil || a.ScoringStrategy.Resources[0].Weight != 0 {
		t.Errorf("zero weight: err %v, args changed to %d", err, a.ScoringStrategy.Resources[0].Weight)
	}
}
