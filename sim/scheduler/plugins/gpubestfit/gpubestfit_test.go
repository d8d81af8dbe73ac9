package gpubestfit_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpubestfit"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestBestFit pins 100·(1 − ½·(cpuFree−cpu)/128000 − ½·(gpuFree−gpu)/8000) and the
// min-max normalisation.
func TestBestFit(t *testing.T) {
	nodes := []*corev1.Node{
		gputest.Node("x", "T4", 2, 32000),
		gputest.Node("y", "G2", 8, 96000),
		gputest.Node("z", "V100M16", 1, 12000),
		gputest.Node("cpu", "", 0, 16000),
	}
	// z: 4000m and GPU 0's 400 in use: 8000m and 600 free.
	running := []*corev1.Pod{gputest.On(gputest.Pod("a", 4000, 1, 400), "z", 0)}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		scores []int64
		node   string
		gpus   []int
	}{
		// Raw: x 1 − (28000/128000 + 1500/8000)/2 = 0.796875 → 79; y (92000, 7500) →
		// 17; z (4000, 100) → 97. Normalised over 17–97: x (79−17)·100/80 = 77.
		{"share", gputest.Pod("s", 4000, 1, 500), []int64{77, 0, 100, -1}, "z", []int{0}},
		// A CPU pod of 4000m: x (28000, 2000) → 76; y (92000, 8000) → 14; z (4000, 600)
		// → 94; cpu (12000, 0) → 95. Normalised over 14–95.
		{"cpu pod", gputest.Pod("c", 4000, 0, 0), []int64{(76 - 14) * 100 / 81, 0, (94 - 14) * 100 / 81, 100}, "cpu", nil},
	}
	for _, tt := range tests {
		h := gputest.Cluster(&gputest.Client{}, nodes, running...)
		p, _ := gpubestfit.New(nil, h)
		res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), tt.pod)
		if !reflect.DeepEqual(res.Scores, tt.scores) || res.Node != tt.node || !reflect.DeepEqual(res.GPUs, tt.gpus) {
			t.Errorf("%s: scores %v, node %q, GPUs %v; want %v, %q, %v", tt.name, res.Scores, res.Node, res.GPUs, tt.scores, tt.node, tt.gpus)
		}
	}
}
