package policies

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// FirstFitName is the FirstFit plugin's name in scheduler configurations.
const FirstFitName = "FirstFit"

// FirstFit prefers nodes in name order: bin packing's First Fit (Johnson, "Near-optimal bin
// packing algorithms", MIT 1973; Coffman, Garey and Johnson's survey), which puts each item
// in the first bin, in a fixed order, that has room. The bins are the feasible nodes and the
// order is their names, compared as strings ("n-10" sorts before "n-2"; zero-pad names to
// get numeric order).
//
// Of n feasible nodes, the one at rank r (0 = first by name) scores
// MaxNodeScore*(n-r)/n, floored: the first scores MaxNodeScore and every other node strictly
// less, so with FirstFit as the only score plugin (or one whose weight dominates) the first
// feasible node by name wins. The scheduler scores only the feasible nodes its sampling
// found (percentageOfNodesToScore); set it to 100 for textbook First Fit.
type FirstFit struct{}

var (
	_ framework.ScorePlugin     = FirstFit{}
	_ framework.ScoreExtensions = FirstFit{}
)

// NewFirstFit returns the FirstFit plugin; it takes no args.
func NewFirstFit(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return FirstFit{}, nil
}

// Name returns the plugin's name.
func (FirstFit) Name() string { return FirstFitName }

// Score gives every node 0; the ranks are given in NormalizeScore, once the feasible set is
// known.
func (FirstFit) Score(_ *framework.CycleState, _ *corev1.Pod, _ *framework.NodeInfo) (int64, *framework.Status) {
	return 0, nil
}

// NormalizeScore scores each node by its rank in name order among the scored nodes.
func (FirstFit) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	n := int64(len(scores))
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]].Name < scores[order[b]].Name })
	for rank, i := range order {
		scores[i].Score = framework.MaxNodeScore * (n - int64(rank)) / n
	}
	return nil
}
