package scheduler

import (
	"testing"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct   int32
		nodes int
		want  int
	}{
		{0, 3, 3},       // fewer than 100 nodes: all
		{0, 99, 99},     // still all
		{0, 100, 100},   // 50 - 0 = 50% of 100 = 50, floor 100
		{0, 1000, 420},  // 50 - 8 = 42%
		{0, 5000, 500},  // 50 - 40 = 10%
		{0, 10000, 500}, // 50 - 80 < 5: floor 5%
		{30, 1000, 300}, // configured
		{5, 1000, 100},  // at least 100
	}
	for _, tt := range tests {
		if got := numFeasibleNodesToFind(tt.pct, tt.nodes); got != tt.want {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tt.pct, tt.nodes, got, tt.want)
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	un := func(r ...string) *framework.Status { return framework.NewStatus(framework.Unschedulable, r...) }
	got := fitErrorMessage(5, framework.NodeToStatus{
		"a": un("Insufficient cpu", "Insufficient memory"), "b": un("Insufficient cpu", "Insufficient memory"),
		"c": un("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
	})
	want := "0/5 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu, 2 Insufficient memory."
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
