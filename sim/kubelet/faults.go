package kubelet

import (
	"fmt"
	"time"
)

// CrashContainer makes a container of a pod on this node exit now with exitCode, as a
// crash or an outside kill (137, SIGKILL) does; "" names the pod's first container. The
// exit is handled as any other: Terminated with reason Error (Completed for 0), then
// restarted per the restartPolicy with CrashLoopBackOff. While the kubelet is stopped
// the container still exits; Start reports it.
func (k *Kubelet) CrashContainer(namespace, pod, container string, exitCode int32) error {
	f := faultRuntime(k.runtime)
	if f == nil {
		return fmt.Errorf("node %s: the container runtime cannot crash containers", k.name)
	}
	var recs []RuntimeContainer
	for _, rc := range k.runtime.Containers() {
		if rc.Pod.Namespace == namespace && rc.Pod.Name == pod {
			recs = append(recs, rc)
		}
	}
	if len(recs) == 0 {
		return fmt.Errorf("pod %s/%s has no containers on node %s", namespace, pod, k.name)
	}
	// A pod deleted and created again under the same name may have left records: the
	// spec of a live instance names the containers.
	spec := recs[0].Pod
	for _, rc := range recs {
		if rc.State != ContainerExited {
			spec = rc.Pod
		}
	}
	name := container
	if name == "" {
		if len(spec.Spec.Containers) == 0 {
			return fmt.Errorf("pod %s/%s has no containers", namespace, pod)
		}
		name = spec.Spec.Containers[0].Name
	}
	if containerSpec(spec, name) == nil {
		return fmt.Errorf("pod %s/%s has no container %q", namespace, pod, name)
	}
	for _, rc := range recs {
		if rc.Name == name && rc.State == ContainerRunning && !rc.Stopping {
			if err := f.CrashContainer(rc.ID, exitCode); err != nil {
				return fmt.Errorf("pod %s/%s: %w", namespace, pod, err)
			}
			return nil
		}
	}
	return fmt.Errorf("container %q of pod %s/%s is not running on node %s", name, namespace, pod, k.name)
}

// AddNodeUsage adds memory and disk bytes in use on the node outside any pod (a leaking
// system daemon, logs filling the disk); negative amounts release them. The eviction
// manager's signals (memory.available, nodefs/imagefs) and NodeUsage count it (a total
// below zero counts as zero). It belongs to the machine: Stop, Start and Crash keep it.
func (k *Kubelet) AddNodeUsage(memory, disk int64) {
	k.outside.MemoryBytes += memory
	k.outside.DiskBytes += disk
}

// NodeUsage returns the node's usage now as the kubelet's stats report it: the pods'
// CPU, the memory working set of the pods and of what runs outside them, and the
// filesystem in use (images, the pods' local storage, usage outside pods); false while
// the kubelet is down.
func (k *Kubelet) NodeUsage() (Usage, bool) {
	if !k.up {
		return Usage{}, false
	}
	u, _ := k.measure()
	return u, true
}

// SlowImagePulls makes image pulls on this node take latency more and download at
// bandwidth bytes per second (0 keeps the bandwidth) until restore is called, as a slow
// or distant registry does. Pulls already under way keep their timing; slowdowns in
// effect together add their latencies and the lowest bandwidth applies. A runtime
// without the hook (see FaultRuntime) ignores it.
func (k *Kubelet) SlowImagePulls(latency time.Duration, bandwidth int64) (restore func()) {
	if f := faultRuntime(k.runtime); f != nil {
		return f.SlowPulls(latency, bandwidth)
	}
	return func() {}
}
