// Package nodeunschedulable is the NodeUnschedulable plugin: cordoned nodes
// (spec.unschedulable) take no new pods unless the pod tolerates the unschedulable taint.
package nodeunschedulable

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeUnschedulable"

// ReasonUnschedulable is the text users see for a cordoned node.
const ReasonUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable is the plugin.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// NewNodeUnschedulable is the plugin's factory; the plugin takes no args, so args are
// ignored as upstream ignores them.
func NewNodeUnschedulable(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return NodeUnschedulable{}, nil
}

// Name returns the plugin's name.
func (NodeUnschedulable) Name() string { return Name }

// Filter rejects cordoned nodes.
func (NodeUnschedulable) Filter(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if !n.Unschedulable() {
		return nil
	}
	taint := &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	if corev1helpers.TolerationsTolerateTaint(pod.Spec.Tolerations, taint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonUnschedulable)
}
