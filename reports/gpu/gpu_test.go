package gpu

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestAnalyze pins the measures on a two-node cluster: 4 GPUs (4000 thousandths), pods
// arriving as 1000, 500 (fails), 2000 and 1500 thousandths (fails).
func TestAnalyze(t *testing.T) {
	nodes := []*corev1.Node{gputest.Node("a", "T4", 2, 8000), gputest.Node("b", "T4", 2, 8000)}
	pod := func(i int, cpu int64, count int, milli int64, node string, idx ...int) *corev1.Pod {
		p := gputest.Pod("openb-pod-1-"+string(rune('0'+i)), cpu, count, milli)
		p.Annotations["orrery.dev/trace-id"] = "openb-pod-1"
		if node != "" {
			p = gputest.On(p, node, idx...)
		}
		return p
	}
	pods := []*corev1.Pod{
		pod(3, 1000, 1, 500, ""),
		pod(0, 2000, 1, 1000, "a", 0),
		pod(2, 4000, 2, 1000, "b", 0, 1),
		pod(1, 1000, 1, 500, "a", 1),
		gputest.On(gputest.Pod("other", 1000, 1, 500), "a", 1), // not the protocol's
	}
	w, err := fgd.NewWorkload([]fgd.TypicalPod{{CPU: 1000, GPUMilli: 1000, GPUCount: 1, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Analyze(nodes, pods, w, 130)
	if err != nil {
		t.Fatal(err)
	}
	if m.GPUs != 4 || m.Arrived != 4 || m.Scheduled != 3 || m.Failed != 1 {
		t.Fatalf("%d GPUs, %d arrived, %d scheduled, %d failed; want 4, 4, 3, 1", m.GPUs, m.Arrived, m.Scheduled, m.Failed)
	}
	// Demand arrived (of 4000): 1000 (25%), 1500 (37.5%), 3500 (87.5%), 4000 (100%).
	// Allocated: 1000, 1500, 3500, 3500. Fragmentation against whole-GPU pods: none, then
	// a's GPU 1 with 500 free (0.5 GPU), which stays. CPU: 2000, 3000, 7000 of 16000.
	want := map[int][3]float64{
		0: {0.25, 0, 2000.0 / 16000}, 25: {0.25, 0, 2000.0 / 16000},
		26: {0.375, 0.5, 3000.0 / 16000}, 37: {0.375, 0.5, 3000.0 / 16000},
		38: {0.875, 0.5, 7000.0 / 16000}, 87: {0.875, 0.5, 7000.0 / 16000},
		88: {0.875, 0.5, 7000.0 / 16000}, 100: {0.875, 0.5, 7000.0 / 16000}, 130: {0.875, 0.5, 7000.0 / 16000},
	}
	for k, v := range want {
		if m.Alloc[k] != v[0] || m.Frag[k] != v[1] || m.CPUAlloc[k] != v[2] {
			t.Errorf("step %d: alloc %v frag %v cpu %v; want %v", k, m.Alloc[k], m.Frag[k], m.CPUAlloc[k], v)
		}
	}
	if len(m.Alloc) != 131 || m.Unallocated(130) != 0.5 || m.FragRatio[130] != 1 {
		t.Errorf("%d steps, %v GPUs unallocated, frag ratio %v", len(m.Alloc), m.Unallocated(130), m.FragRatio[130])
	}
}
