// Package gpubestfit is the BestFitScore plugin, the "Best-fit" baseline of Weng et al.
// (ATC'23), as their artifact scores it: the node left with the least CPU and GPU free,
// each relative to the largest node, wins.
package gpubestfit

import (
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

// New is the plugin's factory (a gpushare.Policy). A node's raw score is
// 100·(1 − ½·(cpuFree − cpu)/128000 − ½·(gpuFree − gpu)/8000), truncated, where cpuFree
// and gpuFree are what the node has free (its free GPU thousandths summed over its GPUs)
// and cpu and gpu what the pod asks (its non-zero CPU request, its GPU thousandths); a
// node without that much free scores 0 (the artifact reports an error). NormalizeScore
// then maps the lowest raw score to 0 and the highest to 100 (integer division; all 0
// when equal). Computed in integers. GPUs are given at Reserve by best fit. Args:
// gpushare.PolicyArgs (tieBreak, applied after the normalisation).
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return gpushare.NewPolicy(gpushare.PolicySpec{Name: Name, GPUPodsOnly: false, Score: func(r gpushare.Request, cpu int64, n *gpushare.Node) int64 {
		return score(cpu, r.Total(), n.CPUFree, n.TotalFree())
	}, Normalize: normalize}, args, h)
}

func score(cpu, gpu, cpuFree, gpuFree int64) int64 {
	if cpuFree < cpu || gpuFree < gpu {
		return 0
	}
	// 100 − 50·a/128000 − 50·b/8000 over the common denominator 128000.
	return (framework.MaxNodeScore*maxSpecCPU - 50*(cpuFree-cpu) - 50*(maxSpecCPU/maxSpecGPU)*(gpuFree-gpu)) / maxSpecCPU
}

// normalize maps the scores linearly onto 0–100, lowest to highest (ties between the best
// nodes are broken afterwards, when tieBreak is set).
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
