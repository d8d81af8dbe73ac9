package noderesources

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func podWith(cpu, mem string) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req}}}}}
}

func nodeWith(cpu, mem, pods string, running ...*corev1.Pod) *framework.NodeInfo {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse(pods)}}}
	ni := framework.NewNodeInfo(n)
	for i, p := range running {
		ni.AddPod(string(rune('a'+i)), framework.NewPodInfo(p))
	}
	return ni
}

func TestFilter(t *testing.T) {
	f := New(nil)
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *framework.NodeInfo
		want string // reasons joined, "" = fits
	}{
		{"fits", podWith("1", "1Gi"), nodeWith("4", "8Gi", "110"), ""},
		{"cpu", podWith("3", "1Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), "Insufficient cpu"},
		{"cpu and memory", podWith("3", "8Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), "Insufficient cpu, Insufficient memory"},
		{"pods", podWith("", ""), nodeWith("4", "8Gi", "1", podWith("", "")), "Too many pods"},
		{"exactly full", podWith("2", "7Gi"), nodeWith("4", "8Gi", "110", podWith("2", "1Gi")), ""},
	}
	for _, tt := range tests {
		state := framework.NewCycleState()
		f.PreFilter(state, tt.pod)
		st := f.Filter(state, tt.pod, tt.node)
		if got := strings.Join(st.Reasons(), ", "); got != tt.want {
			t.Errorf("%s: reasons %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLeastAllocatedScore(t *testing.T) {
	f := New(nil)
	pod := podWith("1", "2Gi")
	state := framework.NewCycleState()
	f.PreFilter(state, pod)
	// cpu: (4-1-1)/4 = 50; memory: (8-2-2)/8 = 50 → 50.
	half, _ := f.Score(state, pod, nodeWith("4", "8Gi", "110", podWith("1", "2Gi")))
	// empty node: cpu (4-1)/4 = 75, memory (8-2)/8 = 75 → 75.
	empty, _ := f.Score(state, pod, nodeWith("4", "8Gi", "110"))
	if half != 50 || empty != 75 {
		t.Fatalf("scores %d and %d, want 50 and 75", half, empty)
	}
	// A pod requesting nothing scores with the 100m / 200Mi defaults.
	bare := podWith("", "")
	f.PreFilter(state, bare)
	if s, _ := f.Score(state, bare, nodeWith("1", "1000Mi", "110")); s != (90+80)/2 {
		t.Fatalf("non-zero defaults: score %d, want 85", s)
	}
}
