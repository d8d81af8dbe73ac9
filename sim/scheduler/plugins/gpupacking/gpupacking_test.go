package gpupacking_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpupacking"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestGpuPacking pins the three tiers: shared GPUs (100 − free%/10, at least 50), free
// GPUs of a used node (50 − their number, at least 33), idle nodes (33 − GPUs).
func TestGpuPacking(t *testing.T) {
	nodes := []*corev1.Node{
		gputest.Node("idle4", "G2", 4, 96000),
		gputest.Node("idle2", "T4", 2, 104000),
		gputest.Node("used600", "G2", 4, 96000),
		gputest.Node("used800", "G2", 4, 96000),
		gputest.Node("cpu", "", 0, 32000),
	}
	running := []*corev1.Pod{
		gputest.On(gputest.Pod("a", 1000, 1, 600), "used600", 0),
		gputest.On(gputest.Pod("b", 1000, 1, 800), "used800", 0),
	}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		scores []int64
		node   string
		gpus   []int
	}{
		// idle4: 33−4; idle2: 33−2; used600: GPU 0 has 40% free, 100−40/10; used800: GPU 0's
		// 200 is too little, a free GPU is needed: 50−1.
		{"share", gputest.Pod("s", 1000, 1, 300), []int64{29, 31, 96, 49, -1}, "used600", []int{0}},
		// Two fully free GPUs on a used node: 50−2.
		{"two whole GPUs", gputest.Pod("w", 1000, 2, 1000), []int64{29, 31, 48, 48, -1}, "used600", []int{1, 2}},
		{"cpu pod", gputest.Pod("c", 1000, 0, 0), []int64{0, 0, 0, 0, 0}, "idle4", nil},
	}
	for _, tt := range tests {
		h := gputest.Cluster(&gputest.Client{}, nodes, running...)
		p, _ := gpupacking.New(nil, h)
		res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), tt.pod)
		if !reflect.DeepEqual(res.Scores, tt.scores) || res.Node != tt.node || !reflect.DeepEqual(res.GPUs, tt.gpus) {
			t.Errorf("%s: scores %v, node %q, GPUs %v; want %v, %q, %v", tt.name, res.Scores, res.Node, res.GPUs, tt.scores, tt.node, tt.gpus)
		}
	}
}
