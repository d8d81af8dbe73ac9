// Package tainttoleration is the TaintToleration plugin: a pod may not run on a node with a
// NoSchedule or NoExecute taint it does not tolerate, and nodes with fewer untolerated
// PreferNoSchedule taints score higher.
package tainttoleration

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "TaintToleration"

// ReasonUntoleratedTaintFormat is the Filter reason, formatted with the taint's key and
// value: "node(s) had untolerated taint {key: value}".
const ReasonUntoleratedTaintFormat = "node(s) had untolerated taint {%s: %s}"

// preScoreStateKey is where PreScore leaves the pod's PreferNoSchedule tolerations.
const preScoreStateKey = "PreScore" + Name

// TaintToleration is the plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin    = TaintToleration{}
	_ framework.PreScorePlugin  = TaintToleration{}
	_ framework.ScorePlugin     = TaintToleration{}
	_ framework.ScoreExtensions = TaintToleration{}
)

// NewTaintToleration is the plugin's factory; the plugin takes no args, so args are ignored
// as upstream ignores them.
func NewTaintToleration(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return TaintToleration{}, nil
}

// Name returns the plugin's name.
func (TaintToleration) Name() string { return Name }

// Filter rejects a node with an untolerated NoSchedule or NoExecute taint.
func (TaintToleration) Filter(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	taints := n.Taints()
	if len(taints) == 0 {
		return nil
	}
	taint := firstUntoleratedTaint(taints, pod.Spec.Tolerations)
	if taint == nil {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(ReasonUntoleratedTaintFormat, taint.Key, taint.Value))
}

// firstUntoleratedTaint is component-helpers' FindMatchingUntoleratedTaint with upstream's
// DoNotScheduleTaintsFilterFunc (NoSchedule and NoExecute taints, in the node's order),
// without the filtered copy of the taints that the helper allocates on every call.
func firstUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !corev1helpers.TolerationsTolerateTaint(tolerations, t) {
			return t
		}
	}
	return nil
}

// preScoreState holds the pod's tolerations that apply to PreferNoSchedule taints.
type preScoreState struct {
	tolerationsPreferNoSchedule []corev1.Toleration
}

// PreScore keeps the pod's tolerations with an empty or PreferNoSchedule effect for Score.
func (TaintToleration) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	s, ok := state.Recycled(preScoreStateKey).(*preScoreState)
	if !ok {
		s = &preScoreState{}
	}
	s.tolerationsPreferNoSchedule = appendPreferNoSchedule(s.tolerationsPreferNoSchedule[:0], pod.Spec.Tolerations)
	state.Write(preScoreStateKey, s)
	return nil
}

func preferNoScheduleTolerations(tolerations []corev1.Toleration) []corev1.Toleration {
	return appendPreferNoSchedule(nil, tolerations)
}

// appendPreferNoSchedule appends to out the tolerations with an empty or PreferNoSchedule
// effect.
func appendPreferNoSchedule(out, tolerations []corev1.Toleration) []corev1.Toleration {
	for _, t := range tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			out = append(out, t)
		}
	}
	return out
}

// Score counts the node's PreferNoSchedule taints the pod does not tolerate; NormalizeScore
// turns the count around.
func (TaintToleration) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	taints := n.Taints()
	if len(taints) == 0 {
		return 0, nil
	}
	var tolerations []corev1.Toleration
	if v, ok := state.Read(preScoreStateKey); ok {
		tolerations = v.(*preScoreState).tolerationsPreferNoSchedule
	} else {
		tolerations = preferNoScheduleTolerations(pod.Spec.Tolerations)
	}
	var count int64
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule && !corev1helpers.TolerationsTolerateTaint(tolerations, &taints[i]) {
			count++
		}
	}
	return count, nil
}

// ScoreNodes is Score over every node of the cycle (framework.NodesScorer).
func (tt TaintToleration) ScoreNodes(state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, scores []framework.NodeScore) *framework.Status {
	for i, n := range nodes {
		if len(n.Taints()) == 0 {
			scores[i].Score = 0
			continue
		}
		scores[i].Score, _ = tt.Score(state, pod, n)
	}
	return nil
}

// NormalizeScore is upstream's DefaultNormalizeScore(MaxNodeScore, reverse=true): the node
// with the most untolerated taints scores 0, one with none scores MaxNodeScore, and the
// rest MaxNodeScore - MaxNodeScore*count/max (integer division).
func (TaintToleration) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
