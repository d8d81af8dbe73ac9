package nodename

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestFilter(t *testing.T) {
	n := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo"}})
	tests := []struct {
		name, nodeName string
		code           framework.Code
	}{
		{"no node name", "", framework.Success},
		{"this node", "foo", framework.Success},
		{"another node", "bar", framework.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{NodeName: tt.nodeName}}
		st := NodeName{}.Filter(nil, pod, n)
		if st.Code() != tt.code {
			t.Errorf("%s: code %v, want %v", tt.name, st.Code(), tt.code)
		}
		if !st.IsSuccess() && st.Message() != "node(s) didn't match the requested node name" {
			t.Errorf("%s: reason %q", tt.name, st.Message())
		}
	}
	if p, err := NewNodeName(nil, nil); err != nil || p.Name() != "NodeName" {
		t.Fatalf("factory: %v, %v", p, err)
	}
}
