// Package gpupacking is the GpuPackingScore plugin, the "GPU Packing" baseline of Weng et
// al. (ATC'23), as their artifact scores it: a GPU pod goes first to GPUs already shared,
// then to free GPUs of nodes already in use, then to idle nodes.
package gpupacking

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "GpuPackingScore"

// GpuPacking is the plugin. The pod's GPUs are picked as best fit picks them (the GPUs
// with least free that hold its share, lowest index among equals), and the node scores,
// from high to low:
//   - only partly used GPUs needed: 100 − Σ(free% of those GPUs)/10, at least 50;
//   - fully free GPUs needed on a node with some GPU in use: 50 − their number, at least
//     33;
//   - every GPU of the node free: 33 − the number of GPUs, at least that number.
//
// A pod asking for no GPU scores 0 everywhere. GPUs are given at Reserve by best fit (the
// artifact's default GPU selection), which picks these same GPUs. Args: gpushare.PolicyArgs
// (tieBreak).
type GpuPacking struct {
	tb *gpushare.TieBreaker
}

var (
	_ framework.ScorePlugin     = (*GpuPacking)(nil)
	_ framework.ScoreExtensions = (*GpuPacking)(nil)
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
	return &GpuPacking{tb: tb}, nil
}

// Name returns the plugin's name.
func (*GpuPacking) Name() string { return Name }

// NormalizeScore breaks ties between the best nodes when tieBreak is set.
func (p *GpuPacking) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	p.tb.Apply(scores)
	return nil
}

// Score is the node's packing score for the pod.
func (*GpuPacking) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	r, err := gpushare.RequestFrom(state, pod)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	if r.None() {
		return 0, nil
	}
	return score(r, gpushare.NodeOf(state, pod, ni)), nil
}

func score(r gpushare.Request, n *gpushare.Node) int64 {
	const third, half = framework.MaxNodeScore / 3, framework.MaxNodeScore / 2
	free := int64(n.FullyFree())
	if free == int64(n.GPUs()) {
		return max(third-free, free)
	}
	want, fresh := r.Count, int64(0)
	var pct int64
	for _, g := range n.SortedFree() {
		if want == 0 {
			break
		}
		if f := n.Free[g]; r.Milli <= f {
			want--
			pct += f * 100 / gpushare.MilliPerGPU
			if f == gpushare.MilliPerGPU {
				fresh++
			}
		}
	}
	switch {
	case want != 0:
		return 0
	case fresh > 0:
		return max(half-fresh, third)
	}
	return max(framework.MaxNodeScore-pct/10, half)
}
