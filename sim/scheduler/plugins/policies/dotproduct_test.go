package policies

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestDotProduct(t *testing.T) {
	tests := []struct {
		name  string
		pod   corev1.ResourceList
		nodes []*framework.NodeInfo
		raw   []int64 // Score, before NormalizeScore
		want  []int64
	}{
		{
			name: "cpu and memory",
			pod:  res("1", "2Gi"),
			nodes: []*framework.NodeInfo{
				// demand (1/4, 2/8) = (2500, 2500); free (1, 1) = (10000, 10000).
				node("a", res("4", "8Gi")),
				// free (2/4, 4/8) = (5000, 5000).
				node("b", res("4", "8Gi"), res("2", "4Gi")),
				// demand (1/8, 2/8) = (1250, 2500); free (7/8, 2/8) = (8750, 2500).
				node("c", res("8", "8Gi"), res("1", "6Gi")),
			},
			// 2·2500·10000; 2·2500·5000; 1250·8750 + 2500·2500.
			raw: []int64{50_000_000, 25_000_000, 17_187_500},
			// ×100/50,000,000: 100, 50, 34.375 → 34.
			want: []int64{100, 50, 34},
		},
		{
			name: "alignment: a cpu-heavy pod goes where cpu is free",
			pod:  res("2", "1Gi"),
			nodes: []*framework.NodeInfo{
				// demand (2/4, 1/8) = (5000, 1250); free (3/4, 2/8) = (7500, 2500).
				node("cpu-free", res("4", "8Gi"), res("1", "6Gi")),
				// free (1/4, 6/8) = (2500, 7500).
				node("mem-free", res("4", "8Gi"), res("3", "2Gi")),
			},
			// 5000·7500 + 1250·2500; 5000·2500 + 1250·7500.
			raw: []int64{40_625_000, 21_875_000},
			// 21,875,000×100/40,625,000 = 53.8 → 53.
			want: []int64{100, 53},
		},
		{
			name: "extended resources the pod requests",
			pod:  res("1", "2Gi", "1"),
			nodes: []*framework.NodeInfo{
				// demand (2500, 2500, 2500); free (10000, 10000, 10000).
				node("g", res("4", "8Gi", "4")),
				// free (3/4, 6/8, 1/4) = (7500, 7500, 2500).
				node("h", res("4", "8Gi", "4"), res("1", "2Gi", "3")),
			},
			raw: []int64{75_000_000, 43_750_000},
			// 43,750,000×100/75,000,000 = 58.3 → 58.
			want: []int64{100, 58},
		},
		{
			name: "full nodes score 0",
			pod:  res("1", "1Gi"),
			nodes: []*framework.NodeInfo{
				node("x", res("1", "1Gi"), res("1", "1Gi")),
				node("y", res("1", "1Gi"), res("2", "2Gi")),
			},
			raw:  []int64{0, 0},
			want: []int64{0, 0},
		},
	}
	for _, tt := range tests {
		p := pod(tt.pod)
		state := framework.NewCycleState()
		DotProduct{}.PreScore(state, p, tt.nodes)
		for i, n := range tt.nodes {
			if s, _ := (DotProduct{}).Score(state, p, n); s != tt.raw[i] {
				t.Errorf("%s: raw score of %s = %d, want %d", tt.name, n.Name(), s, tt.raw[i])
			}
		}
		if got := scoreAll(t, DotProduct{}, p, tt.nodes); !equal(got, tt.want) {
			t.Errorf("%s: scores %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestShare(t *testing.T) {
	tests := []struct{ v, total, want int64 }{
		{1, 4, 2500},
		{1, 3, 3333},
		{5, 4, 10000},
		{0, 7, 0},
		// 1 PiB of 4 PiB: v*10000 would overflow int64 without 128-bit arithmetic.
		{1 << 50, 1 << 52, 2500},
	}
	for _, tt := range tests {
		if got := share(tt.v, tt.total); got != tt.want {
			t.Errorf("share(%d, %d) = %d, want %d", tt.v, tt.total, got, tt.want)
		}
	}
}
