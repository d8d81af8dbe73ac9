// Package nodename is the NodeName plugin: a pod that names a node in spec.nodeName fits
// only that node.
package nodename

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeName"

// ReasonMismatch is the text users see.
const ReasonMismatch = "node(s) didn't match the requested node name"

// NodeName is the plugin.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// Name returns the plugin's name.
func (NodeName) Name() string { return Name }

// Filter rejects every node but the named one.
func (NodeName) Filter(_ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == n.Name() {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonMismatch)
}
