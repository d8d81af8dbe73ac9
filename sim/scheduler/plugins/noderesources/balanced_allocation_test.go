package noderesources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func mustBalanced(t *testing.T, args *configv1.NodeResourcesBalancedAllocationArgs) *BalancedAllocation {
	t.Helper()
	var p framework.Plugin
	var err error
	if args == nil {
		p, err = NewBalancedAllocation(nil, nil)
	} else {
		p, err = NewBalancedAllocation(args, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.(*BalancedAllocation)
}

func TestBalancedAllocationScore(t *testing.T) {
	withGPU := &configv1.NodeResourcesBalancedAllocationArgs{Resources: []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}, {Name: string(gpu), Weight: 1}}}
	tests := []struct {
		name  string
		args  *configv1.NodeResourcesBalancedAllocationArgs
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		// Pod 3000m / 5000 on empty 4000m/10000: fractions 0.75 and 0.5, std |0.75-0.5|/2 =
		// 0.125, (1-0.125)*100 = 87.5 → 87 (truncated). On 6000m/10000: 0.5 and 0.5 → 100.
		{"two resources", nil, podReq("cpu", "3", "memory", "5000"),
			[]*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10")), nodeAlloc(res("cpu", "6", "memory", "10000", "pods", "10"))}, []int64{87, 100}},
		// Fractions are capped at 1: cpu 6000/4000 → 1, memory 0.5 → std 0.25 → 75.
		{"over-committed fraction capped", nil, podReq("cpu", "6", "memory", "5000"), []*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10"))}, []int64{75}},
		// Node requests count as requested, without the non-zero defaults: a running pod
		// that requests nothing adds nothing. cpu 500/1000 = 0.5, memory 0 → std 0.25 → 75
		// (with the defaults it would be 0.6 and 0.2 → 80).
		{"requested, not non-zero", nil, podReq("cpu", "500m"), []*framework.NodeInfo{nodeWith("1", "1000Mi", "110", podWith("", ""))}, []int64{75}},
		// Three resources: cpu 0.75, memory 0.5, gpu 1/4 = 0.25; mean 0.5, variance
		// (0.0625+0+0.0625)/3, std 0.2041 → 79.58 → 79.
		{"three resources", withGPU, podReq("cpu", "3", "memory", "5000", "nvidia.com/gpu", "1"),
			[]*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10", "nvidia.com/gpu", "4"))}, []int64{79}},
		// The gpu is left out when the pod does not request it: 0.75 and 0.5 → 87.
		{"unrequested gpu left out", withGPU, podReq("cpu", "3", "memory", "5000"),
			[]*framework.NodeInfo{nodeAlloc(res("cpu", "4", "memory", "10000", "pods", "10", "nvidia.com/gpu", "4"))}, []int64{87}},
		// A best-effort pod is skipped: every node scores 0.
		{"best-effort pod skipped", nil, podWith("", ""), []*framework.NodeInfo{nodeWith("1", "1Gi", "10"), nodeWith("4", "1Gi", "10")}, []int64{0, 0}},
	}
	for _, tt := range tests {
		ba := mustBalanced(t, tt.args)
		if got := scoreNodes(t, ba, tt.pod, tt.nodes...); !eq(got, tt.want) {
			t.Errorf("%s: scores %v, want %v", tt.name, got, tt.want)
		}
	}
	if st := mustBalanced(t, nil).PreScore(framework.NewCycleState(), podWith("", ""), nil); st.Code() != framework.Skip {
		t.Errorf("best-effort PreScore: %v, want Skip", st.Code())
	}
	if _, err := NewBalancedAllocation(&configv1.NodeResourcesFitArgs{}, nil); err == nil {
		t.Error("wrong args type accepted")
	}
}
