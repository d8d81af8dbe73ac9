// Package queuesort is the PrioritySort plugin: the active queue pops higher-priority pods
// first and, among equals, the pod that entered the queue first.
package queuesort

import (
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "PrioritySort"

// PrioritySort is the plugin.
type PrioritySort struct{}

var _ framework.QueueSortPlugin = PrioritySort{}

// NewPrioritySort is the plugin's factory; the plugin takes no args.
func NewPrioritySort(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return PrioritySort{}, nil
}

// Name returns the plugin's name.
func (PrioritySort) Name() string { return Name }

// Less orders by spec.priority (higher first), then by queue timestamp (earlier first).
func (PrioritySort) Less(a, b *framework.QueuedPodInfo) bool {
	p1, p2 := corev1helpers.PodPriority(a.Pod), corev1helpers.PodPriority(b.Pod)
	return p1 > p2 || (p1 == p2 && a.Timestamp < b.Timestamp)
}
