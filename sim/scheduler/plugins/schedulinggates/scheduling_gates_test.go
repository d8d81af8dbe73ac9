package schedulinggates

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestPreEnqueue(t *testing.T) {
	tests := []struct {
		name   string
		gates  []string
		code   framework.Code
		reason string
	}{
		{"no gates", nil, framework.Success, ""},
		{"one gate", []string{"foo"}, framework.UnschedulableAndUnresolvable, "waiting for scheduling gates: [foo]"},
		{"two gates in spec order", []string{"foo", "bar"}, framework.UnschedulableAndUnresolvable, "waiting for scheduling gates: [foo bar]"},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{}
		for _, g := range tt.gates {
			pod.Spec.SchedulingGates = append(pod.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: g})
		}
		st := SchedulingGates{}.PreEnqueue(pod)
		if st.Code() != tt.code || st.Message() != tt.reason {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, st.Code(), st.Message(), tt.code, tt.reason)
		}
	}
	if p, err := NewSchedulingGates(nil, nil); err != nil || p.Name() != "SchedulingGates" {
		t.Fatalf("factory: %v, %v", p, err)
	}
}
