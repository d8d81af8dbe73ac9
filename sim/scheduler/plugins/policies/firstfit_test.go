package policies

import (
	"fmt"
	"testing"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestFirstFit(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		want  []int64
	}{
		{"one node", []string{"a"}, []int64{100}},
		// Ranks by name a, b, c, d: 100*(4-r)/4.
		{"four, unsorted", []string{"c", "a", "d", "b"}, []int64{50, 100, 25, 75}},
		// 100*3/3, 100*2/3 = 66, 100*1/3 = 33.
		{"three", []string{"n1", "n2", "n3"}, []int64{100, 66, 33}},
		// String order, not numeric: n-10 < n-2 < n-9.
		{"string order", []string{"n-2", "n-9", "n-10"}, []int64{66, 33, 100}},
	}
	for _, tt := range tests {
		var nodes []*framework.NodeInfo
		for _, n := range tt.nodes {
			nodes = append(nodes, node(n, res("4", "8Gi")))
		}
		if got := scoreAll(t, FirstFit{}, pod(res("1", "1Gi")), nodes); !equal(got, tt.want) {
			t.Errorf("%s: scores %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFirstFitManyNodes checks that with more nodes than score values the first node by name
// still scores strictly highest.
func TestFirstFitManyNodes(t *testing.T) {
	var nodes []*framework.NodeInfo
	for i := 149; i >= 0; i-- {
		nodes = append(nodes, node(fmt.Sprintf("n%03d", i), res("4", "8Gi")))
	}
	got := scoreAll(t, FirstFit{}, pod(res("1", "1Gi")), nodes)
	// nodes[149] is n000 (100); nodes[148] is n001: 100*149/150 = 99; nodes[0] is n149:
	// 100*1/150 = 0.
	if got[149] != 100 || got[148] != 99 || got[0] != 0 {
		t.Fatalf("n000, n001, n149 scored %d, %d, %d; want 100, 99, 0", got[149], got[148], got[0])
	}
	for i := 0; i < 149; i++ {
		if got[i] >= 100 {
			t.Errorf("%s scored %d, want less than the first node's 100", nodes[i].Name(), got[i])
		}
		if got[i] > got[i+1] {
			t.Errorf("%s scored %d, more than %s's %d", nodes[i].Name(), got[i], nodes[i+1].Name(), got[i+1])
		}
	}
}
