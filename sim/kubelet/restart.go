package kubelet

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultHousekeepingPeriod is how often upstream's kubelet cleans up pods it does not
// know; after a restart the first pass kills the containers of pods gone meanwhile.
const DefaultHousekeepingPeriod = 2 * time.Second

// OrphanGracePeriod is the grace period override for containers of pods the kubelet does
// not know (upstream's housekeeping kills them with 1s; the runtime still allows
// MinimumGracePeriod between SIGTERM and SIGKILL).
const OrphanGracePeriod = time.Second

// Stop stops the kubelet process alone, as `systemctl stop kubelet` does: no more lease
// renewals, node status, pod syncs, probes or events. Its containers keep running in the
// runtime; one that exits meanwhile is neither restarted nor reported until Start.
func (k *Kubelet) Stop() {
	if k.up {
		k.halt()
	}
}

// halt ends this life of the kubelet: timers, watches and its in-memory pod state.
func (k *Kubelet) halt() {
	k.up = false
	k.gen++
	k.pods.Stop()
	k.puller.stop()
	clear(k.workers)
	k.found = nil
}

// listRuntime groups the runtime's containers by pod, for a kubelet that starts to adopt.
func (k *Kubelet) listRuntime() map[types.UID][]RuntimeContainer {
	found := map[types.UID][]RuntimeContainer{}
	for _, rc := range k.runtime.Containers() {
		found[rc.Pod.UID] = append(found[rc.Pod.UID], rc)
	}
	return found
}

// hasLive reports whether any of the containers is created or running.
func hasLive(recs []RuntimeContainer) bool {
	for _, rc := range recs {
		if rc.State != ContainerExited {
			return true
		}
	}
	return false
}

// adopt takes over a container instance the runtime kept through a kubelet restart, as
// upstream's kubelet rebuilds its view from the runtime: a running one keeps its restart
// count and start time and its probes start from scratch (startup and readiness results
// unknown until they run again); an exit that happened meanwhile is reported and acted
// on as any exit.
func (w *podWorker) adopt(c *container, rc RuntimeContainer, prev corev1.ContainerStatus) {
	w.volumesOK = true // the pod's volumes are mounted
	c.id, c.instances, c.restarts = rc.ID, 1, rc.Attempt
	// The instance before this one, as the last status written reported it.
	last := prev.LastTerminationState.Terminated
	if prev.ContainerID != (&container{id: rc.ID}).containerID() && prev.State.Terminated != nil {
		last = prev.State.Terminated
	}
	c.last, c.backedOff = last.DeepCopy(), false
	switch rc.State {
	case ContainerCreated:
		c.phase, c.creating = cWaiting, true
	case ContainerRunning:
		c.phase, c.startedAt = cRunning, rc.StartedAt
		c.started = c.spec.StartupProbe == nil
		c.ready = c.started && c.spec.ReadinessProbe == nil
		w.startProbes(c)
		if rc.Stopping {
			w.awaitStop(c)
		}
	case ContainerExited:
		c.phase, c.exit = cTerminated, rc.Exit
		c.startedAt, c.finishedAt = rc.StartedAt, rc.FinishedAt
	}
}

// awaitStop follows an adopted container that an earlier life of the kubelet was
// stopping, until it is gone.
func (w *podWorker) awaitStop(c *container) {
	w.stopProbes(c)
	c.stopping = []func(){func() { w.queueStatus(); w.sync() }}
	id := c.id
	w.k.runtime.StopContainer(id, gracePeriod(w.pod), func(e Exit) {
		if !w.current() || c.id != id {
			return
		}
		waiters := c.stopping
		w.exited(c, e)
		c.stopping = nil
		for _, fn := range waiters {
			fn()
		}
	})
}

// cleanupOrphans is the first housekeeping after a restart: it kills the containers of
// pods the kubelet does not run (deleted from the API meanwhile, or terminal) with the
// orphan grace period, and forgets them.
func (k *Kubelet) cleanupOrphans() {
	found := k.listRuntime()
	known := map[types.UID]bool{}
	for _, w := range k.workers {
		known[w.uid] = true
	}
	for _, uid := range sortedUIDs(found) {
		if known[uid] {
			continue
		}
		recs := found[uid]
		if !hasLive(recs) {
			k.runtime.RemovePod(uid)
			continue
		}
		pod := recs[0].Pod
		k.log.Action(k.user, EventKilling, "pods", pod.Namespace, pod.Name, fmt.Sprintf("Killing orphaned pod %s/%s: not known to the kubelet", pod.Namespace, pod.Name))
		left := 0
		done := func(Exit) {
			if left--; left == 0 {
				k.runtime.RemovePod(uid)
			}
		}
		for _, rc := range recs {
			if rc.State == ContainerExited {
				continue
			}
			left++
			hook := time.Duration(0)
			if spec := containerSpec(rc.Pod, rc.Name); spec != nil && rc.State == ContainerRunning {
				hook = min(preStopDuration(spec), OrphanGracePeriod)
			}
			remaining := max(OrphanGracePeriod-hook, MinimumGracePeriod)
			id := rc.ID
			k.after(hook, func() { k.runtime.StopContainer(id, remaining, done) })
		}
	}
}

func sortedUIDs(m map[types.UID][]RuntimeContainer) []types.UID {
	keys := make([]string, 0, len(m))
	for uid := range m {
		keys = append(keys, string(uid))
	}
	sort.Strings(keys)
	out := make([]types.UID, len(keys))
	for i, k := range keys {
		out[i] = types.UID(k)
	}
	return out
}

// containerSpec returns the pod's container (or init container) of that name.
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
