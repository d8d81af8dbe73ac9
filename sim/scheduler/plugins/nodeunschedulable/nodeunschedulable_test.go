package nodeunschedulable

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestFilter(t *testing.T) {
	tolerates := []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	tests := []struct {
		name          string
		unschedulable bool
		tolerations   []corev1.Toleration
		code          framework.Code
	}{
		{"schedulable node", false, nil, framework.Success},
		{"cordoned node", true, nil, framework.UnschedulableAndUnresolvable},
		{"cordoned node, pod tolerates the unschedulable taint", true, tolerates, framework.Success},
	}
	for _, tt := range tests {
		n := framework.NewNodeInfo(&corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tt.unschedulable}})
		st := NodeUnschedulable{}.Filter(nil, &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tt.tolerations}}, n)
		if st.Code() != tt.code {
			t.Errorf("%s: code %v, want %v", tt.name, st.Code(), tt.code)
		}
		if !st.IsSuccess() && st.Message() != "node(s) were unschedulable" {
			t.Errorf("%s: reason %q", tt.name, st.Message())
		}
	}
	if p, err := NewNodeUnschedulable(nil, nil); err != nil || p.Name() != "NodeUnschedulable" {
		t.Fatalf("factory: %v, %v", p, err)
	}
}
