package policies

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// WorstFitName is the WorstFit plugin's name in scheduler configurations.
const WorstFitName = "WorstFit"

// WorstFit prefers the node that the pod leaves with the most free capacity: bin packing's
// Worst Fit (Johnson 1973), the spreading counterpart of BestFit.
//
// The score is the mean, over cpu, memory and every extended resource the pod requests
// (weight 1 each), of the percentage of allocatable left free after placing the pod, each
// floored and the mean floored; requests count with the scheduler's non-zero defaults. It is
// exactly MaxNodeScore minus BestFit's score. Over cpu and memory alone this is upstream's
// NodeResourcesFit LeastAllocated strategy at equal weights.
type WorstFit struct{}

var (
	_ framework.PreScorePlugin = WorstFit{}
	_ framework.ScorePlugin    = WorstFit{}
)

// NewWorstFit returns the WorstFit plugin; it takes no args.
func NewWorstFit(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return WorstFit{}, nil
}

// Name returns the plugin's name.
func (WorstFit) Name() string { return WorstFitName }

const worstFitStateKey = "PreScore" + WorstFitName

// PreScore computes the pod's requests once for the cycle.
func (WorstFit) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(worstFitStateKey, framework.NewPodInfo(pod))
	return nil
}

// Score is the mean free share left after placing the pod.
func (WorstFit) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	return freeShareAfter(dimensions(podRequests(state, worstFitStateKey, pod), n)), nil
}
