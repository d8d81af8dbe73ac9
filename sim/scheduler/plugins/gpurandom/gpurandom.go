// Package gpurandom is the RandomScore plugin, the "Random" baseline of Weng et al.
// (ATC'23), as their artifact scores it: one feasible node, drawn uniformly, wins, and a
// GPU-sharing pod takes a GPU drawn uniformly among those with room.
package gpurandom

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "RandomScore"

// Random is the plugin. PreScore draws one of the nodes being scored (one IntN from the
// scheduler's seeded stream, Handle.Rand); it scores 100, the others 0. With a single
// feasible node there is no scoring and no draw. At Reserve a share goes to a GPU drawn
// among those with room (reservoir sampling in index order, one IntN per candidate, as
// the artifact's "random" GPU selection), whole GPUs to the fully free ones of lowest
// index. Enable it at preFilter and preScore too (multiPoint does).
type Random struct {
	h framework.Handle
}

var (
	_ framework.PreFilterPlugin = (*Random)(nil)
	_ framework.PreScorePlugin  = (*Random)(nil)
	_ framework.ScorePlugin     = (*Random)(nil)
)

// New is the plugin's factory; it takes no args.
func New(_ runtime.Object, h framework.Handle) (framework.Plugin, error) { return &Random{h: h}, nil }

// Name returns the plugin's name.
func (*Random) Name() string { return Name }

const stateKey = "PreScore" + Name

// PreFilter makes the plugin choose the GPUs the pod gets at Reserve.
func (p *Random) PreFilter(state *framework.CycleState, _ *corev1.Pod) *framework.Status {
	gpushare.SetChooser(state, gpushare.ChooserFunc(p.choose))
	return nil
}

// PreScore draws the winning node.
func (p *Random) PreScore(state *framework.CycleState, _ *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	gpushare.SetChooser(state, gpushare.ChooserFunc(p.choose))
	if len(nodes) > 0 {
		state.Write(stateKey, nodes[p.h.Rand().IntN(len(nodes))].Name())
	}
	return nil
}

// Score is 100 for the node PreScore drew, 0 for the others.
func (p *Random) Score(state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	name, err := framework.ReadState[string](state, stateKey)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	if ni.Name() == name {
		return framework.MaxNodeScore, nil
	}
	return 0, nil
}

func (p *Random) choose(r gpushare.Request, n *gpushare.Node) []int {
	if !r.Share() {
		return gpushare.Exclusive(r, n)
	}
	pick, seen := -1, 0
	for i, f := range n.Free {
		if f >= r.Milli {
			seen++
			if p.h.Rand().IntN(seen) == 0 {
				pick = i
			}
		}
	}
	if pick < 0 {
		return nil
	}
	return []int{pick}
}
