package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod condition reasons, as upstream's kubelet reports them.
const (
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonPodCompleted             = "PodCompleted"
)

// queueStatus writes the pod's status at the end of the current instant, once however
// many changes happened in it.
func (w *podWorker) queueStatus() {
	if w.flushQueued {
		return
	}
	w.flushQueued = true
	w.k.after(0, func() {
		w.flushQueued = false
		if w.current() {
			w.flushStatus()
		}
	})
}

// flushStatus writes the pod's status if it differs from the stored one.
func (w *podWorker) flushStatus() {
	obj, err := w.k.client.Get("pods", w.pod.Namespace, w.pod.Name)
	if err != nil {
		return
	}
	cur := obj.(*corev1.Pod)
	if cur.UID != w.uid {
		return
	}
	// Get returns the caller's own copy: only the status needs keeping for comparison.
	was := cur.Status.DeepCopy()
	w.fillStatus(&cur.Status)
	if equality.Semantic.DeepEqual(&cur.Status, was) {
		return
	}
	_, _ = w.k.client.UpdateStatus(cur) // a failure is retried on the next change
}

func (w *podWorker) containerStatus(c *container) corev1.ContainerStatus {
	started := c.started && c.phase == cRunning
	cs := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, RestartCount: c.restarts, Ready: c.ready && c.phase == cRunning, Started: &started, ContainerID: c.containerID()}
	if c.id != "" {
		cs.ImageID = c.spec.Image
	}
	switch c.phase {
	case cRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
	case cTerminated:
		t := c.terminated()
		cs.State.Terminated = &t
	default:
		reason := c.reason
		if reason == "" {
			reason = w.creatingReason(c)
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: c.message}
	}
	if c.last != nil {
		cs.LastTerminationState.Terminated = c.last.DeepCopy()
	}
	return cs
}

// initialized reports whether every init container has completed (sidecars: started).
func (w *podWorker) initialized() (bool, []string) {
	var incomplete []string
	for _, c := range w.inits {
		switch {
		case c.kind == kindSidecar && c.started:
		case c.kind == kindInit && c.phase == cTerminated && c.exit.Code == 0:
		default:
			incomplete = append(incomplete, c.spec.Name)
		}
	}
	return len(incomplete) == 0, incomplete
}

// phase computes the pod phase from the container states, as upstream's getPhase.
func (w *podWorker) phase() corev1.PodPhase {
	policy := w.pod.Spec.RestartPolicy
	podIsTerminal := w.terminal || w.terminating
	pendingInit, failedInit := 0, 0
	for _, c := range w.inits {
		if c.kind == kindSidecar {
			if !c.started && !w.everInitialized() {
				pendingInit++
			}
			continue
		}
		switch {
		case c.phase == cRunning:
			pendingInit++
		case c.phase == cTerminated:
			if c.exit.Code != 0 {
				failedInit++
			}
		case c.last != nil:
			if c.last.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	running, waiting, stopped, succeeded := 0, 0, 0, 0
	for _, c := range w.ctrs {
		switch {
		case c.phase == cRunning:
			running++
		case c.phase == cTerminated:
			stopped++
			if c.exit.Code == 0 {
				succeeded++
			}
		case c.last != nil:
			stopped++
		default:
			waiting++
		}
	}
	if failedInit > 0 && policy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	var phase corev1.PodPhase
	switch {
	case pendingInit > 0 && !w.everInitialized(), waiting > 0:
		phase = corev1.PodPending
	case running > 0:
		phase = corev1.PodRunning
	case stopped > 0:
		switch {
		case podIsTerminal && stopped == succeeded:
			phase = corev1.PodSucceeded
		case podIsTerminal:
			phase = corev1.PodFailed
		case policy == corev1.RestartPolicyAlways:
			phase = corev1.PodRunning
		case stopped == succeeded:
			phase = corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			phase = corev1.PodFailed
		default:
			phase = corev1.PodRunning
		}
	default:
		phase = corev1.PodPending
	}
	if w.stopped && phase != corev1.PodSucceeded && phase != corev1.PodFailed {
		phase = corev1.PodFailed // a pod whose containers are all gone is terminal
	}
	return phase
}

func (w *podWorker) everInitialized() bool {
	if !w.wasInitialized {
		w.wasInitialized, _ = w.initialized()
	}
	return w.wasInitialized
}

// fillStatus writes the kubelet's view of the pod into s.
func (w *podWorker) fillStatus(s *corev1.PodStatus) {
	now := metav1.NewTime(w.k.clock.Now())
	s.HostIP, s.HostIPs = "", nil
	if ip := hostIP(w.k.cfg.Node); ip != "" {
		s.HostIP, s.HostIPs = ip, []corev1.HostIP{{IP: ip}}
	}
	s.PodIP, s.PodIPs = "", nil
	if w.ip != "" {
		s.PodIP, s.PodIPs = w.ip, []corev1.PodIP{{IP: w.ip}}
	}
	st := w.startTime
	s.StartTime = &st
	s.InitContainerStatuses = nil
	for _, c := range w.inits {
		s.InitContainerStatuses = append(s.InitContainerStatuses, w.containerStatus(c))
	}
	s.ContainerStatuses = nil
	for _, c := range w.ctrs {
		s.ContainerStatuses = append(s.ContainerStatuses, w.containerStatus(c))
	}
	phase := w.phase()
	if w.evicted != nil {
		phase = corev1.PodFailed
		s.Reason, s.Message = ReasonEvicted, w.evicted.message
		if w.evicted.disruption {
			setCondition(s, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonTerminationByKubelet, Message: w.evicted.message}, now)
		}
	}
	s.Phase = phase

	sandbox := corev1.ConditionFalse
	if w.volumesOK && !w.stopped && !(w.terminal && w.allStopped()) {
		sandbox = corev1.ConditionTrue
	}
	setCondition(s, corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: sandbox}, now)

	init := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if ok, incomplete := w.initialized(); phase == corev1.PodSucceeded && len(w.inits) > 0 {
		init.Reason = ReasonPodCompleted
	} else if !ok && !w.everInitialized() {
		init = corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: ReasonContainersNotInitialized,
			Message: fmt.Sprintf("containers with incomplete status: %v", incomplete)}
	}
	setCondition(s, init, now)

	var unready []string
	for _, c := range w.all() {
		if c.kind == kindInit {
			continue
		}
		if !(c.ready && c.phase == cRunning) {
			unready = append(unready, c.spec.Name)
		}
	}
	ready := corev1.PodCondition{Status: corev1.ConditionTrue}
	switch {
	case phase == corev1.PodSucceeded:
		ready = corev1.PodCondition{Status: corev1.ConditionFalse, Reason: ReasonPodCompleted}
	case len(unready) > 0:
		ready = corev1.PodCondition{Status: corev1.ConditionFalse, Reason: ReasonContainersNotReady, Message: fmt.Sprintf("containers with unready status: %v", unready)}
	}
	ready.Type = corev1.PodReady
	setCondition(s, ready, now)
	ready.Type = corev1.ContainersReady
	setCondition(s, ready, now)
	setCondition(s, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, now, true)
}

// allStopped reports whether no container of the pod runs.
func (w *podWorker) allStopped() bool {
	for _, c := range w.all() {
		if c.phase == cRunning || c.inFlight() {
			return false
		}
	}
	return true
}

// setCondition sets a pod condition, moving its lastTransitionTime only when its status
// changes; with keep set, an existing condition is left alone.
func setCondition(s *corev1.PodStatus, c corev1.PodCondition, now metav1.Time, keep ...bool) {
	for i := range s.Conditions {
		cur := &s.Conditions[i]
		if cur.Type != c.Type {
			continue
		}
		if len(keep) > 0 && keep[0] {
			return
		}
		if cur.Status != c.Status {
			cur.LastTransitionTime = now
		}
		cur.Status, cur.Reason, cur.Message = c.Status, c.Reason, c.Message
		return
	}
	c.LastTransitionTime = now
	s.Conditions = append(s.Conditions, c)
}
