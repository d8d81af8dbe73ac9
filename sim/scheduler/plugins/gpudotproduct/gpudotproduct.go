// Package gpudotproduct is the DotProductScore plugin, the "Dot-product" baseline of Weng
// et al. (ATC'23) after Tetris (Grandl et al., SIGCOMM'14), as their artifact scores it
// in their experiments (GPUs merged into one dimension, normalised by the largest node).
package gpudotproduct

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "DotProductScore"

// The artifact's largest node: 128 CPUs and 8 GPUs, in thousandths.
const (
	maxSpecCPU = 128000
	maxSpecGPU = 8 * gpushare.MilliPerGPU
)

// New is the plugin's factory (a gpushare.Policy). With the node's free vector (cpuFree/128000, gpuFree/8000)
// and the pod's demand (cpu/128000, gpu/8000) — gpuFree the free GPU thousandths summed
// over the node's GPUs, cpu the pod's non-zero CPU request, gpu its GPU thousandths — a
// node scores 100·(1 − (free·demand)/2), truncated: the smaller the dot product, the
// higher, so that the pod goes where what it needs is scarcest (the artifact's choice,
// the opposite of Tetris' alignment). A node without the pod's CPU free scores 0.
// Computed in integers. GPUs are given at Reserve by best fit (the artifact's setting for
// this baseline). Args: gpushare.PolicyArgs (tieBreak).
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return gpushare.NewPolicy(gpushare.PolicySpec{Name: Name, GPUPodsOnly: false, Score: func(r gpushare.Request, cpu int64, n *gpushare.Node) int64 {
		return score(cpu, r.Total(), n.CPUFree, n.TotalFree())
	}}, args, h)
}

func score(cpu, gpu, cpuFree, gpuFree int64) int64 {
	if cpuFree < cpu {
		return 0
	}
	// 100 − 50·(a·c/128000² + g·h/8000²) over the common denominator 128000².
	const den = maxSpecCPU * maxSpecCPU
	const ratio = den / (maxSpecGPU * maxSpecGPU)
	return (framework.MaxNodeScore*den - 50*(cpuFree*cpu+ratio*gpuFree*gpu)) / den
}
