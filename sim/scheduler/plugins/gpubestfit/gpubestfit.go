// Package gpubestfit is the BestFitScore plugin, the "Best-fit" baseline of Weng et al.
// (ATC'23), as their artifact scores it: the node left with the least CPU and GPU free,
// each relative to the largest node, wins.
package gpubestfit

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "BestFitScore"

// The artifact's largest node: 128 CPUs and 8 GPUs, in thousandths.
const (
	maxSpecCPU = 128000
	maxSpecGPU = 8 * gpushare.MilliPerGPU
)

// BestFit is the plugin. A node's raw score is
// 100·(1 − ½·(cpuFree − cpu)/128000 − ½·(gpuFree − gpu)/8000), truncated, where cpuFree
// and gpuFree are what the node has free (its free GPU thousandths summed over its GPUs)
// and cpu and gpu what the pod asks (its non-zero CPU request, its GPU thousandths); a
// node without that much free scores 0 (the artifact reports an error). NormalizeScore
// then maps the lowest raw score to 0 and the highest to 100 (integer division; all 0
// when equal). Computed in integers. GPUs are given at Reserve by best fit. Args:
// gpushare.PolicyArgs (tieBreak, applied after the normalisation).
type BestFit struct {
	tb *gpushare.TieBreaker
}

var (
	_ framework.ScorePlugin     = (*BestFit)(nil)
	_ framework.ScoreExtensions = (*BestFit)(nil)
)

// New is the plugin's factory.
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	var a gpushare.PolicyArgs
	if err := gpushare.DecodeArgs(Name, args, &a); err != nil {
		return nil, err
	}
	tb, err := gpushare.NewTieBreaker(Name, a.TieBreak, h)
	if err != nil {
		return nil, err
	}
	return &BestFit{tb: tb}, nil
}

// Name returns the plugin's name.
func (*BestFit) Name() string { return Name }

// Score is the node's raw best-fit score for the pod.
func (*BestFit) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	r, err := gpushare.RequestFrom(state, pod)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	n := gpushare.NodeOf(state, pod, ni)
	return score(framework.PodInfoOf(state, pod).NonZero.MilliCPU, r.Total(), n.CPUFree, n.TotalFree()), nil
}

func score(cpu, gpu, cpuFree, gpuFree int64) int64 {
	if cpuFree < cpu || gpuFree < gpu {
		return 0
	}
	// 100 − 50·a/128000 − 50·b/8000 over the common denominator 128000.
	return (framework.MaxNodeScore*maxSpecCPU - 50*(cpuFree-cpu) - 50*(maxSpecCPU/maxSpecGPU)*(gpuFree-gpu)) / maxSpecCPU
}

// NormalizeScore maps the scores linearly onto 0–100, lowest to highest, then breaks ties
// between the best nodes when tieBreak is set.
func (p *BestFit) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	normalize(scores)
	p.tb.Apply(scores)
	return nil
}

func normalize(scores []framework.NodeScore) {
	if len(scores) == 0 {
		return
	}
	lo, hi := scores[0].Score, scores[0].Score
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		if hi == lo {
			scores[i].Score = 0
			continue
		}
		scores[i].Score = (scores[i].Score - lo) * framework.MaxNodeScore / (hi - lo)
	}
}
