package gpuclustering_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpuclustering"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestGpuClustering pins the four tiers (same kind only 75+, same kind among others 50+,
// no GPU pods 25+, other kinds only 0+), each plus 25·(8000 − free)/8000.
func TestGpuClustering(t *testing.T) {
	nodes := []*corev1.Node{
		gputest.Node("shares", "G2", 4, 96000),
		gputest.Node("mixed", "G2", 4, 96000),
		gputest.Node("idle8", "G2", 8, 96000),
		gputest.Node("idle2", "T4", 2, 104000),
		gputest.Node("twos", "G2", 4, 96000),
	}
	running := []*corev1.Pod{
		gputest.On(gputest.Pod("a", 1000, 1, 600), "shares", 0),
		gputest.On(gputest.Pod("b", 1000, 1, 600), "mixed", 0),
		gputest.On(gputest.Pod("c", 1000, 1, 1000), "mixed", 1),
		gputest.On(gputest.Pod("d", 1000, 2, 1000), "twos", 0, 1),
		gputest.On(gputest.Pod("e", 1000, 0, 0), "idle8"), // CPU pods do not count
	}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		scores []int64
		node   string
		gpus   []int
	}{
		// Free: shares 3400 (25·4600/8000 = 14), mixed 2400 (17), idle8 8000 (0), idle2
		// 2000 (18), twos 2000 (18).
		{"share", gputest.Pod("s", 1000, 1, 300), []int64{14 + 75, 17 + 50, 0 + 25, 18 + 25, 18}, "shares", []int{0}},
		{"two whole GPUs", gputest.Pod("w", 1000, 2, 1000), []int64{14, 17, 0 + 25, 18 + 25, 18 + 75}, "twos", []int{2, 3}},
		{"one whole GPU", gputest.Pod("o", 1000, 1, 1000), []int64{14, 17 + 50, 0 + 25, 18 + 25, 18}, "mixed", []int{2}},
		{"cpu pod", gputest.Pod("c", 1000, 0, 0), []int64{0, 0, 0, 0, 0}, "shares", nil},
	}
	for _, tt := range tests {
		h := gputest.Cluster(&gputest.Client{}, nodes, running...)
		p, _ := gpuclustering.New(nil, h)
		res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), tt.pod)
		if !reflect.DeepEqual(res.Scores, tt.scores) || res.Node != tt.node || !reflect.DeepEqual(res.GPUs, tt.gpus) {
			t.Errorf("%s: scores %v, node %q, GPUs %v; want %v, %q, %v", tt.name, res.Scores, res.Node, res.GPUs, tt.scores, tt.node, tt.gpus)
		}
	}
}
