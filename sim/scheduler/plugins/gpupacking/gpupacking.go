// Package gpupacking is the GpuPackingScore plugin, the "GPU Packing" baseline of Weng et
// al. (ATC'23), as their artifact scores it: a GPU pod goes first to GPUs already shared,
// then to free GPUs of nodes already in use, then to idle nodes.
package gpupacking

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "GpuPackingScore"

// New is the plugin's factory (a gpushare.Policy). The pod's GPUs are picked as best fit picks them (the GPUs
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
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return gpushare.NewPolicy(gpushare.PolicySpec{Name: Name, GPUPodsOnly: true, Score: func(r gpushare.Request, _ int64, n *gpushare.Node) int64 { return score(r, n) }}, args, h)
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
