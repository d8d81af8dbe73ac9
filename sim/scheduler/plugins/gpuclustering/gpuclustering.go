// Package gpuclustering is the GpuClusteringScore plugin, the "GPU Clustering" baseline of
// Weng et al. (ATC'23), as their artifact scores it: GPU pods of one kind (a share of a
// GPU, or N whole GPUs) are kept together on nodes running only that kind.
package gpuclustering

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "GpuClusteringScore"

// maxSpecGPU is the artifact's largest node, 8 GPUs, in thousandths.
const maxSpecGPU = 8 * gpushare.MilliPerGPU

// New is the plugin's factory (a gpushare.Policy). A GPU pod's kind is "share-gpu" or "N-gpu"; a node scores
// 25·(8000 − its free GPU thousandths)/8000 (integer division) plus 75 if its GPU pods are
// all of the pod's kind, 50 if they include that kind and others, 25 if it runs no GPU
// pod, 0 if only other kinds. A pod asking for no GPU scores 0 everywhere. GPUs are given
// at Reserve by best fit (the artifact's default GPU selection). Args: gpushare.PolicyArgs
// (tieBreak).
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return gpushare.NewPolicy(gpushare.PolicySpec{Name: Name, GPUPodsOnly: true, Score: func(r gpushare.Request, _ int64, n *gpushare.Node) int64 { return score(r, n) }}, args, h)
}

func score(r gpushare.Request, n *gpushare.Node) int64 {
	const quarter = framework.MaxNodeScore / 4
	s := quarter * (maxSpecGPU - n.TotalFree()) / maxSpecGPU
	switch same := n.Kinds[r.Kind()] > 0; {
	case same && len(n.Kinds) == 1:
		return s + 3*quarter
	case same:
		return s + 2*quarter
	case len(n.Kinds) == 0:
		return s + quarter
	}
	return s
}
