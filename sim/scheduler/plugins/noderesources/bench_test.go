package noderesources

import (
	"testing"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// The scheduler runs Filter on ~500 sampled nodes and Score on the feasible ones per pod;
// both must stay allocation-free and far under 100 ns for a simple pod.

func benchSetup() (*Fit, *BalancedAllocation, *framework.CycleState, *framework.NodeInfo) {
	f := New(nil)
	ba, _ := NewBalancedAllocation(nil, nil)
	pod := podWith("500m", "512Mi")
	n := nodeWith("16", "64Gi", "110", podWith("1", "1Gi"), podWith("2", "4Gi"), podWith("", ""))
	state := framework.NewCycleState()
	f.PreFilter(state, pod)
	f.PreScore(state, pod, nil)
	ba.(*BalancedAllocation).PreScore(state, pod, nil)
	return f, ba.(*BalancedAllocation), state, n
}

func BenchmarkFitFilter(b *testing.B) {
	f, _, state, n := benchSetup()
	pod := podWith("500m", "512Mi")
	b.ReportAllocs()
	for b.Loop() {
		if !f.Filter(state, pod, n).IsSuccess() {
			b.Fatal("does not fit")
		}
	}
}

func BenchmarkFitScore(b *testing.B) {
	f, _, state, n := benchSetup()
	pod := podWith("500m", "512Mi")
	b.ReportAllocs()
	for b.Loop() {
		f.Score(state, pod, n)
	}
}

func BenchmarkFitFilterAndScore(b *testing.B) {
	f, _, state, n := benchSetup()
	pod := podWith("500m", "512Mi")
	b.ReportAllocs()
	for b.Loop() {
		f.Filter(state, pod, n)
		f.Score(state, pod, n)
	}
}

func BenchmarkBalancedAllocationScore(b *testing.B) {
	_, ba, state, n := benchSetup()
	pod := podWith("500m", "512Mi")
	b.ReportAllocs()
	for b.Loop() {
		ba.Score(state, pod, n)
	}
}
