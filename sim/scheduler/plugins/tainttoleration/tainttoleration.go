// Package tainttoleration is the TaintToleration plugin: a pod may not run on a node with a
// NoSchedule or NoExecute taint it does not tolerate, and nodes with fewer untolerated
// PreferNoSchedule taints score higher.
package tainttoleration

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "TaintToleration"

// TaintToleration is the plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin    = TaintToleration{}
	_ framework.ScorePlugin     = TaintToleration{}
	_ framework.ScoreExtensions = TaintToleration{}
)

// Name returns the plugin's name.
func (TaintToleration) Name() string { return Name }

// Filter rejects a node with an untolerated NoSchedule or NoExecute taint.
func (TaintToleration) Filter(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(n.Node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	})
	if !untolerated {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

// Score counts the node's PreferNoSchedule taints the pod does not tolerate.
func (TaintToleration) Score(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var tolerations []corev1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tolerations = append(tolerations, t)
		}
	}
	var count int64
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !corev1helpers.TolerationsTolerateTaint(tolerations, t) {
			count++
		}
	}
	return count, nil
}

// NormalizeScore reverses the counts: the node with the fewest untolerated taints scores
// MaxNodeScore.
func (TaintToleration) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	var max int64
	for _, s := range scores {
		if s.Score > max {
			max = s.Score
		}
	}
	for i := range scores {
		if max == 0 {
			scores[i].Score = framework.MaxNodeScore
		} else {
			scores[i].Score = framework.MaxNodeScore - scores[i].Score*framework.MaxNodeScore/max
		}
	}
	return nil
}
