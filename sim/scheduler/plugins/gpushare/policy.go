package gpushare

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// PolicySpec describes a GPU-sharing score policy that rates each node from the pod's
// request and the node's GPU view alone, as the artifact's baselines do.
type PolicySpec struct {
	// Name is the plugin's name in scheduler configurations.
	Name string
	// Score is a node's raw score for a pod asking for r and cpu non-zero millicores.
	Score func(r Request, cpu int64, n *Node) int64
	// GPUPodsOnly gives a pod asking for no GPU 0 on every node without calling Score.
	GPUPodsOnly bool
	// Normalize, if set, maps the raw scores before ties are broken.
	Normalize func(scores []framework.NodeScore)
}

// Policy is the score plugin of a PolicySpec. Its args are PolicyArgs: with tieBreak
// NodeOrder, NormalizeScore breaks ties between the best nodes by a fixed node order. The
// pod's GPUs are given at Reserve by the cycle's chooser (best fit unless a plugin set one).
type Policy struct {
	spec PolicySpec
	tb   *TieBreaker
}

var (
	_ framework.ScorePlugin     = (*Policy)(nil)
	_ framework.ScoreExtensions = (*Policy)(nil)
)

// NewPolicy builds the plugin of spec from its args (a PolicyArgs, or nil).
func NewPolicy(spec PolicySpec, args runtime.Object, h framework.Handle) (*Policy, error) {
	var a PolicyArgs
	if err := DecodeArgs(spec.Name, args, &a); err != nil {
		return nil, err
	}
	tb, err := NewTieBreaker(spec.Name, a.TieBreak, h)
	if err != nil {
		return nil, err
	}
	return &Policy{spec: spec, tb: tb}, nil
}

// Name returns the plugin's name.
func (p *Policy) Name() string { return p.spec.Name }

// Score is the node's raw score for the pod.
func (p *Policy) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	r, err := RequestFrom(state, pod)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	if p.spec.GPUPodsOnly && r.None() {
		return 0, nil
	}
	return p.spec.Score(r, framework.PodInfoOf(state, pod).NonZero.MilliCPU, NodeOf(state, pod, ni)), nil
}

// NormalizeScore maps the scores (when the spec says how), then breaks ties between the
// best nodes when tieBreak is set.
func (p *Policy) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	if p.spec.Normalize != nil {
		p.spec.Normalize(scores)
	}
	p.tb.Apply(scores)
	return nil
}
