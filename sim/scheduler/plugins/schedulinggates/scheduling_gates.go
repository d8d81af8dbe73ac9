// Package schedulinggates is the SchedulingGates plugin: a pod with spec.schedulingGates
// stays out of the active queue until every gate is removed.
package schedulinggates

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "SchedulingGates"

// ReasonWaitingPrefix starts the reason users see; the gate names follow in brackets,
// space-separated, as fmt prints a []string: "waiting for scheduling gates: [a b]".
const ReasonWaitingPrefix = "waiting for scheduling gates: "

// SchedulingGates is the plugin.
type SchedulingGates struct{}

var _ framework.PreEnqueuePlugin = SchedulingGates{}

// NewSchedulingGates is the plugin's factory; the plugin takes no args.
func NewSchedulingGates(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	return SchedulingGates{}, nil
}

// Name returns the plugin's name.
func (SchedulingGates) Name() string { return Name }

// PreEnqueue keeps a gated pod out of the active queue.
func (SchedulingGates) PreEnqueue(pod *corev1.Pod) *framework.Status {
	if len(pod.Spec.SchedulingGates) == 0 {
		return nil
	}
	gates := make([]string, 0, len(pod.Spec.SchedulingGates))
	for _, g := range pod.Spec.SchedulingGates {
		gates = append(gates, g.Name)
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("%s%v", ReasonWaitingPrefix, gates))
}
