package policies

import (
	"math/bits"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// DotProductName is the DotProduct plugin's name in scheduler configurations.
const DotProductName = "DotProduct"

// DotProductScale is the fixed-point unit of each normalised vector component: a share of
// allocatable is an integer in [0, DotProductScale]. Integers keep the score the same on
// every machine (floating-point multiply-add may be fused on some architectures).
const DotProductScale int64 = 10000

// DotProduct is the alignment score of Tetris (Grandl, Ananthanarayanan, Kandula, Rao and
// Akella, "Multi-resource packing for cluster schedulers", SIGCOMM'14, §3.1): the dot
// product of the pod's demand vector and the node's free-resource vector, each component
// normalised by the node's allocatable, so that a pod goes where its demands line up with
// what is free. Higher is better.
//
// The components are cpu, memory, and every extended resource the pod requests (a resource
// the node has none of is left out). For each, demand = floor(pod*S/allocatable) and
// free = floor((allocatable-requested)*S/allocatable), clamped at 0, with S =
// DotProductScale, the free vector taken before the pod is placed, as in the paper; requests
// count with the scheduler's non-zero defaults. Score returns Σ demand·free (units of 1/S²);
// NormalizeScore scales the scored nodes to [0, MaxNodeScore] by the highest:
// score*MaxNodeScore/max (all 0 if max is 0).
type DotProduct struct{}

var (
	_ framework.PreScorePlugin  = DotProduct{}
	_ framework.ScorePlugin     = DotProduct{}
	_ framework.ScoreExtensions = DotProduct{}
)

// NewDotProduct returns the DotProduct plugin; it takes no args.
func NewDotProduct(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return DotProduct{}, nil
}

// Name returns the plugin's name.
func (DotProduct) Name() string { return DotProductName }

const dotProductStateKey = "PreScore" + DotProductName

// PreScore computes the pod's requests once for the cycle.
func (DotProduct) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(dotProductStateKey, framework.NewPodInfo(pod))
	return nil
}

// Score is the dot product of the normalised demand and free vectors.
func (DotProduct) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	for _, d := range dimensions(podRequests(state, dotProductStateKey, pod), n) {
		free := d.allocatable - d.used
		if free < 0 {
			free = 0
		}
		sum += share(d.request, d.allocatable) * share(free, d.allocatable)
	}
	return sum, nil
}

// share is floor(v*DotProductScale/total) for 0 <= v, capped at DotProductScale, computed in
// 128 bits so that byte counts of any size do not overflow.
func share(v, total int64) int64 {
	if v >= total {
		return DotProductScale
	}
	hi, lo := bits.Mul64(uint64(v), uint64(DotProductScale))
	q, _ := bits.Div64(hi, lo, uint64(total))
	return int64(q)
}

// NormalizeScore scales the scores to [0, MaxNodeScore] by the highest.
func (DotProduct) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	var max int64
	for _, s := range scores {
		if s.Score > max {
			max = s.Score
		}
	}
	for i := range scores {
		if max == 0 {
			scores[i].Score = 0
			continue
		}
		scores[i].Score = scores[i].Score * framework.MaxNodeScore / max
	}
	return nil
}
