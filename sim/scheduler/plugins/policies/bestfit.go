package policies

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// BestFitName is the BestFit plugin's name in scheduler configurations.
const BestFitName = "BestFit"

// BestFit prefers the node that the pod leaves with the least free capacity: bin packing's
// Best Fit (Johnson 1973), which puts each item in the fullest bin that still has room, as
// the multi-resource "best fit" of Grandl et al. (SIGCOMM'14, §2) and of Verma et al.'s Borg
// (EuroSys'15, §3.2) scores it.
//
// For each resource — cpu, memory, and every extended resource the pod requests, each with
// weight 1 — free = (allocatable - requested - pod) / allocatable after placing the pod,
// floored to a percentage; the score is MaxNodeScore minus the mean of those percentages
// (floored). Requests count with the scheduler's non-zero defaults (100m cpu, 200Mi memory
// for containers that request none), as upstream's scoring does. Over cpu and memory alone
// this is upstream's NodeResourcesFit MostAllocated strategy at equal weights.
type BestFit struct{}

var (
	_ framework.PreScorePlugin = BestFit{}
	_ framework.ScorePlugin    = BestFit{}
)

// NewBestFit returns the BestFit plugin; it takes no args.
func NewBestFit(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return BestFit{}, nil
}

// Name returns the plugin's name.
func (BestFit) Name() string { return BestFitName }

const bestFitStateKey = "PreScore" + BestFitName

// PreScore computes the pod's requests once for the cycle.
func (BestFit) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(bestFitStateKey, framework.NewPodInfo(pod))
	return nil
}

// Score is MaxNodeScore minus the mean free share left after placing the pod.
func (BestFit) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	dims := dimensions(podRequests(state, bestFitStateKey, pod), n)
	if len(dims) == 0 {
		return 0, nil
	}
	return framework.MaxNodeScore - freeShareAfter(dims), nil
}
