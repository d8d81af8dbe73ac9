package endpointsliceutil

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimeTracker computes the endpoints.kubernetes.io/last-change-trigger-time
// annotation as upstream's does: the time of the earliest change (a pod's Ready transition,
// the Service's creation) not yet exported for a Service, or the Service's creation time on
// its first sync.
type TriggerTimeTracker struct {
	states map[string]*triggerState
}

type triggerState struct {
	pods    map[string]time.Time
	service time.Time
}

// NewTriggerTimeTracker returns an empty tracker.
func NewTriggerTimeTracker() *TriggerTimeTracker {
	return &TriggerTimeTracker{states: map[string]*triggerState{}}
}

// Compute records the trigger times of the Service and its pods and returns the time to
// export (zero: export none).
func (t *TriggerTimeTracker) Compute(svc *corev1.Service, pods []*corev1.Pod) time.Time {
	key := ServiceKey(svc.Namespace, svc.Name)
	state, known := t.states[key]
	if !known {
		state = &triggerState{}
	}
	var minChanged time.Time
	earlier := func(x time.Time) {
		if minChanged.IsZero() || x.Before(minChanged) {
			minChanged = x
		}
	}
	podTimes := make(map[string]time.Time, len(pods))
	for _, p := range pods {
		pt := podTriggerTime(p)
		if pt.IsZero() {
			continue
		}
		podTimes[p.Name] = pt
		if pt.After(state.pods[p.Name]) {
			earlier(pt)
		}
	}
	st := svc.CreationTimestamp.Time
	if st.After(state.service) {
		earlier(st)
	}
	state.pods, state.service = podTimes, st
	t.states[key] = state
	if !known {
		return svc.CreationTimestamp.Time
	}
	return minChanged
}

// DeleteService forgets a deleted Service.
func (t *TriggerTimeTracker) DeleteService(ns, name string) { delete(t.states, ServiceKey(ns, name)) }

func podTriggerTime(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// FormatTriggerTime formats a trigger time as the annotation carries it (RFC 3339 with
// nanoseconds, UTC).
func FormatTriggerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
