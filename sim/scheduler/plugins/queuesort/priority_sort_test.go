package queuesort

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func qp(priority *int32, ts int64) *framework.QueuedPodInfo {
	return &framework.QueuedPodInfo{Pod: &corev1.Pod{Spec: corev1.PodSpec{Priority: priority}}, Timestamp: ts}
}

func TestLess(t *testing.T) {
	lo, hi := int32(1), int32(100)
	tests := []struct {
		name string
		a, b *framework.QueuedPodInfo
		want bool
	}{
		{"higher priority first, though later", qp(&hi, 2), qp(&lo, 1), true},
		{"lower priority after, though earlier", qp(&lo, 1), qp(&hi, 2), false},
		{"equal priority, earlier first", qp(&lo, 1), qp(&lo, 2), true},
		{"equal priority, later after", qp(&lo, 2), qp(&lo, 1), false},
		{"same timestamp is not less", qp(&lo, 1), qp(&lo, 1), false},
		{"nil priority counts as 0", qp(nil, 2), qp(&lo, 1), false},
	}
	for _, tt := range tests {
		if got := (PrioritySort{}).Less(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Less = %v, want %v", tt.name, got, tt.want)
		}
	}
	if p, err := NewPrioritySort(nil, nil); err != nil || p.Name() != "PrioritySort" {
		t.Fatalf("factory: %v, %v", p, err)
	}
}
