package policies

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// RandomName is the Random plugin's name in scheduler configurations.
const RandomName = "Random"

// Random scores every node uniformly at random in [0, MaxNodeScore]: the random-placement
// baseline of the scheduling literature (e.g. the "Random" policy of Grandl et al.,
// SIGCOMM'14, and of Sparrow, SOSP'13). The draws come from the scheduler's seeded stream
// (Handle.Rand), one per scored node in the order the scheduler scores them, so a run is the
// same for the same seed; enabling Random also moves the stream that breaks score ties.
type Random struct {
	h framework.Handle
}

var _ framework.ScorePlugin = (*Random)(nil)

// NewRandom returns the Random plugin; it takes no args.
func NewRandom(_ runtime.Object, h framework.Handle) (framework.Plugin, error) {
	return &Random{h: h}, nil
}

// Name returns the plugin's name.
func (*Random) Name() string { return RandomName }

// Score draws a score in [0, MaxNodeScore].
func (r *Random) Score(_ *framework.CycleState, _ *corev1.Pod, _ *framework.NodeInfo) (int64, *framework.Status) {
	return r.h.Rand().Int64N(framework.MaxNodeScore + 1), nil
}
