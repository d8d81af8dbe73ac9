// Package nodename is the NodeName plugin: a pod that names a node in spec.nodeName fits
// only that node.
package nodename

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeName"

// ReasonMismatch is the text users see (upstream's ErrReason).
const ReasonMismatch = "node(s) didn't match the requested node name"

// NodeName is the plugin.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// NewNodeName is the plugin's factory; the plugin takes no args, so args are ignored as
// upstream ignores them.
func NewNodeName(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return NodeName{}, nil
}

// Name returns the plugin's name.
func (NodeName) Name() string { return Name }

// Filter rejects every node but the named one.
func (NodeName) Filter(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if Fits(pod, n) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonMismatch)
}

// Fits reports whether the pod names no node or names this one.
func Fits(pod *corev1.Pod, n *framework.NodeInfo) bool {
	return pod.Spec.NodeName == "" || pod.Spec.NodeName == n.Name()
}
