package gpudotproduct_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpudotproduct"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestDotProduct pins 100·(1 − (cpuFree·cpu/128000² + gpuFree·gpu/8000²)/2): the smallest
// product of free and demand wins.
func TestDotProduct(t *testing.T) {
	nodes := []*corev1.Node{
		gputest.Node("x", "T4", 2, 32000),
		gputest.Node("y", "G2", 8, 96000),
		gputest.Node("z", "V100M16", 1, 12000),
		gputest.Node("short", "T4", 2, 3000),
	}
	running := []*corev1.Pod{gputest.On(gputest.Pod("a", 4000, 1, 400), "z", 0)}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		scores []int64
		node   string
		gpus   []int
	}{
		// x: 32000·4000/128000² + 2000·500/8000² = 0.0234375 → 100·(1 − 0.01171875) = 98;
		// y: 0.0234375 + 0.0625 → 95; z (8000m, 600 free): 0.006640625 → 99; short: less
		// CPU free than asked: 0.
		{"share", gputest.Pod("s", 4000, 1, 500), []int64{98, 95, 99, 0}, "z", []int{0}},
		// Whole GPU: z has none free (filtered); x: 0.0078125 + 0.03125 → 98; y: 0.0234375
		// + 0.125 → 92.
		{"whole GPU", gputest.Pod("w", 4000, 1, 1000), []int64{98, 92, -1, 0}, "x", []int{0}},
	}
	for _, tt := range tests {
		h := gputest.Cluster(&gputest.Client{}, nodes, running...)
		p, _ := gpudotproduct.New(nil, h)
		res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), tt.pod)
		if !reflect.DeepEqual(res.Scores, tt.scores) || res.Node != tt.node || !reflect.DeepEqual(res.GPUs, tt.gpus) {
			t.Errorf("%s: scores %v, node %q, GPUs %v; want %v, %q, %v", tt.name, res.Scores, res.Node, res.GPUs, tt.scores, tt.node, tt.gpus)
		}
	}
}
