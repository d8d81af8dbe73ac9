package scheduler

import (
	"fmt"
	"testing"
)

// TestFindNodesThatFitRoundRobin pins the sampling walk: a cycle looks for
// numFeasibleNodesToFind feasible nodes from the round-robin start, wrapping past the last
// node, and the next cycle starts where it stopped. A start left beyond the end by removed
// nodes counts modulo the nodes.
func TestFindNodesThatFitRoundRobin(t *testing.T) {
	const n = 300
	s := benchScheduler(t, n, false, defaultProfile)
	prof := s.profiles[DefaultSchedulerName]
	want := numFeasibleNodesToFind(0, n) // 48% of 300
	if want != 144 {
		t.Fatalf("numFeasibleNodesToFind(0, %d) = %d, want 144", n, want)
	}
	tests := []struct{ start, first, next int }{
		{0, 0, 144},
		{250, 250, 94},   // wraps: 250..299, then 0..93
		{700, 100, 244},  // 700 mod 300
		{299, 299, 143},  // the last node, then 0..142
		{n, 0, want % n}, // exactly n
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.start), func(t *testing.T) {
			s.nextStartNodeIndex = tc.start
			pod := benchPod("rr", "")
			state := s.cycleState()
			for _, p := range prof.PreFilter {
				p.PreFilter(state, pod)
			}
			feasible, _ := s.findNodesThatFit(prof, state, pod, nil)
			if len(feasible) != want {
				t.Fatalf("%d feasible nodes, want %d", len(feasible), want)
			}
			for i, ni := range feasible {
				if w := fmt.Sprintf("node-%05d", (tc.first+i)%n); ni.Name() != w {
					t.Fatalf("feasible[%d] = %s, want %s", i, ni.Name(), w)
				}
			}
			if s.nextStartNodeIndex != tc.next {
				t.Errorf("next start %d, want %d", s.nextStartNodeIndex, tc.next)
			}
		})
	}
}
