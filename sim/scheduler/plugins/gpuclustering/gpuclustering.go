// Package gpuclustering is the GpuClusteringScore plugin, the "GPU Clustering" baseline of
// Weng et al. (ATC'23), as their artifact scores it: GPU pods of one kind (a share of a
// GPU, or N whole GPUs) are kept together on nodes running only that kind.
package gpuclustering

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "GpuClusteringScore"

// maxSpecGPU is the artifact's largest node, 8 GPUs, in thousandths.
const maxSpecGPU = 8 * gpushare.MilliPerGPU

// GpuClustering is the plugin. A GPU pod's kind is "share-gpu" or "N-gpu"; a node scores
// 25·(8000 − its free GPU thousandths)/8000 (integer division) plus 75 if its GPU pods are
// all of the pod's kind, 50 if they include that kind and others, 25 if it runs no GPU
// pod, 0 if only other kinds. A pod asking for no GPU scores 0 everywhere. GPUs are given
// at Reserve by best fit (the artifact's default GPU selection). Args: gpushare.PolicyArgs
// (tieBreak).
type GpuClustering struct {
	tb *gpushare.TieBreaker
}

var (
	_ framework.ScorePlugin     = (*GpuClustering)(nil)
	_ framework.ScoreExtensions = (*GpuClustering)(nil)
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
	return &GpuClustering{tb: tb}, nil
}

// Name returns the plugin's name.
func (*GpuClustering) Name() string { return Name }

// NormalizeScore breaks ties between the best nodes when tieBreak is set.
func (p *GpuClustering) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	p.tb.Apply(scores)
	return nil
}

// Score is the node's clustering score for the pod.
func (*GpuClustering) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
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
