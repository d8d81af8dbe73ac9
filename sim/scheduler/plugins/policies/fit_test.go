package policies

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// fitCases are shared by BestFit and WorstFit: worst is the mean free percentage after
// placing the pod, best is 100 minus it.
var fitCases = []struct {
	name        string
	pod         corev1.ResourceList
	node        *framework.NodeInfo
	worst, best int64
}{
	// cpu (4000-1000)*100/4000 = 75, memory (8-2)/8 = 75 → 75.
	{"empty node", res("1", "2Gi"), node("n", res("4", "8Gi")), 75, 25},
	// cpu (4000-2000-1000)/4000 = 25, memory (8-4-2)/8 = 25 → 25.
	{"half full", res("1", "2Gi"), node("n", res("4", "8Gi"), res("2", "4Gi")), 25, 75},
	// cpu (8000-1000-1000)/8000 = 75, memory (8-1-2)/8 = 62.5 → 62; (75+62)/2 = 68.
	{"uneven", res("1", "2Gi"), node("n", res("8", "8Gi"), res("1", "1Gi")), 68, 32},
	// cpu 50, memory 50, gpu (4-2-1)/4 = 25; 125/3 = 41.
	{"gpu", res("1", "2Gi", "1"), node("n", res("4", "8Gi", "4"), res("1", "2Gi", "2")), 41, 59},
	// A node's gpus do not count for a pod that requests none. The running pod requests only
	// gpus, so it counts as 100m and 200Mi: cpu (4000-100-1000)/4000 = 72.5 → 72, memory
	// (8192-200-2048)Mi/8192Mi = 72.6 → 72; mean 72.
	{"gpu node, cpu pod", res("1", "2Gi"), node("n", res("4", "8Gi", "4"), res("", "", "3")), 72, 28},
	// Non-zero defaults: cpu (1000-100)/1000 = 90, memory (1000Mi-200Mi)/1000Mi = 80 → 85.
	{"requests nothing", res("", ""), node("n", res("1", "1000Mi")), 85, 15},
	// Already over capacity: free clamps at 0.
	{"overcommitted", res("1", "1Gi"), node("n", res("1", "1Gi"), res("2", "2Gi")), 0, 100},
}

func TestWorstFit(t *testing.T) {
	for _, tt := range fitCases {
		if got := scoreAll(t, WorstFit{}, pod(tt.pod), []*framework.NodeInfo{tt.node}); got[0] != tt.worst {
			t.Errorf("%s: score %d, want %d", tt.name, got[0], tt.worst)
		}
	}
}

func TestBestFit(t *testing.T) {
	for _, tt := range fitCases {
		if got := scoreAll(t, BestFit{}, pod(tt.pod), []*framework.NodeInfo{tt.node}); got[0] != tt.best {
			t.Errorf("%s: score %d, want %d", tt.name, got[0], tt.best)
		}
	}
}

// TestFitWithoutPreScore checks that Score works when the profile does not run PreScore.
func TestFitWithoutPreScore(t *testing.T) {
	tt := fitCases[2]
	state := framework.NewCycleState()
	if s, _ := (BestFit{}).Score(state, pod(tt.pod), tt.node); s != tt.best {
		t.Errorf("BestFit without PreScore: %d, want %d", s, tt.best)
	}
	if s, _ := (WorstFit{}).Score(nil, pod(tt.pod), tt.node); s != tt.worst {
		t.Errorf("WorstFit without PreScore or state: %d, want %d", s, tt.worst)
	}
}
