// Package gpudotproduct is the DotProductScore plugin, the "Dot-product" baseline of Weng
// et al. (ATC'23) after Tetris (Grandl et al., SIGCOMM'14), as their artifact scores it
// in their experiments (GPUs merged into one dimension, normalised by the largest node).
package gpudotproduct

import (
	corev1 "k8s.io/api/core/v1"
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

// DotProduct is the plugin. With the node's free vector (cpuFree/128000, gpuFree/8000)
// and the pod's demand (cpu/128000, gpu/8000) — gpuFree the free GPU thousandths summed
// over the node's GPUs, cpu the pod's non-zero CPU request, gpu its GPU thousandths — a
// node scores 100·(1 − (free·demand)/2), truncated: the smaller the dot product, the
// higher, so that the pod goes where what it needs is scarcest (the artifact's choice,
// the opposite of Tetris' alignment). A node without the pod's CPU free scores 0.
// Computed in integers. GPUs are given at Reserve by best fit (the artifact's setting for
// this baseline). Args: gpushare.PolicyArgs (tieBreak).
type DotProduct struct {
	tb *gpushare.TieBreaker
}

var (
	_ framework.ScorePlugin     = (*DotProduct)(nil)
	_ framework.ScoreExtensions = (*DotProduct)(nil)
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
	return &DotProduct{tb: tb}, nil
}

// Name returns the plugin's name.
func (*DotProduct) Name() string { return Name }

// NormalizeScore breaks ties between the best nodes when tieBreak is set.
func (p *DotProduct) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	p.tb.Apply(scores)
	return nil
}

// Score is the node's dot-product score for the pod.
func (*DotProduct) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	r, err := gpushare.RequestFrom(state, pod)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	n := gpushare.NodeOf(state, pod, ni)
	return score(framework.PodInfoOf(state, pod).NonZero.MilliCPU, r.Total(), n.CPUFree, n.TotalFree()), nil
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
