package sim

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/faults"
	"github.com/orrery-sim/orrery/sim/kubelet"
)

// FaultTarget returns the cluster as the fault injector acts on it (faults.Target); the
// injector records each fault in the event log.
func (c *Cluster) FaultTarget() faults.Target { return faultTarget{c} }

// faultTarget implements faults.Target on a cluster, without logging.
type faultTarget struct{ c *Cluster }

func (t faultTarget) kubelet(name string) (*kubelet.Kubelet, error) {
	k, ok := t.c.kubelets[name]
	if !ok {
		return nil, fmt.Errorf("no node %q", name)
	}
	return k, nil
}

func (t faultTarget) HasNode(name string) bool { _, ok := t.c.kubelets[name]; return ok }

// NodesInZone implements faults.Topology from the registered nodes' zone labels.
func (t faultTarget) NodesInZone(zone string) []string {
	var out []string
	for _, name := range t.c.nodeNames {
		obj, err := t.c.Admin.Get("nodes", "", name)
		if err == nil && obj.(*corev1.Node).Labels[corev1.LabelTopologyZone] == zone {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (t faultTarget) CrashNode(name string) error {
	k, err := t.kubelet(name)
	if err != nil {
		return err
	}
	t.c.trafficNodeDown(name, false)
	k.Crash()
	return nil
}

func (t faultTarget) RecoverNode(name string) error {
	k, err := t.kubelet(name)
	if err != nil {
		return err
	}
	if err := k.Start(); err != nil {
		return err
	}
	return t.c.trafficNodeUp(name)
}

func (t faultTarget) StopKubelet(name string) error {
	k, err := t.kubelet(name)
	if err != nil {
		return err
	}
	k.Stop()
	return nil
}

func (t faultTarget) StartKubelet(name string) error {
	k, err := t.kubelet(name)
	if err != nil {
		return err
	}
	return k.Start()
}

func (t faultTarget) CutOff(nodes ...string) {
	if r := t.c.Reality(); r != nil {
		for _, n := range nodes {
			r.SetPartitioned(n, true)
		}
	}
	t.c.API.CutOff(nodes...)
}

func (t faultTarget) Reconnect(nodes ...string) {
	if r := t.c.Reality(); r != nil {
		for _, n := range nodes {
			r.SetPartitioned(n, false)
		}
	}
	t.c.API.Reconnect(nodes...)
}

func (t faultTarget) CrashContainer(namespace, pod, container string, exitCode int32) error {
	obj, err := t.c.Admin.Get("pods", namespace, pod)
	if err != nil {
		return err
	}
	node := obj.(*corev1.Pod).Spec.NodeName
	if node == "" {
		return fmt.Errorf("pod %s/%s is not bound to a node", namespace, pod)
	}
	k, err := t.kubelet(node)
	if err != nil {
		return err
	}
	return k.CrashContainer(namespace, pod, container, exitCode)
}

func (t faultTarget) AddNodeUsage(node string, memory, disk int64) error {
	k, err := t.kubelet(node)
	if err != nil {
		return err
	}
	k.AddNodeUsage(memory, disk)
	return nil
}

func (t faultTarget) SlowImagePulls(node string, latency time.Duration, bandwidth int64) (func(), error) {
	names := []string{node}
	if node == "" {
		names = t.c.NodeNames()
	}
	var restores []func()
	for _, n := range names {
		k, err := t.kubelet(n)
		if err != nil {
			return nil, err
		}
		restores = append(restores, k.SlowImagePulls(latency, bandwidth))
	}
	return func() {
		for _, r := range restores {
			r()
		}
	}, nil
}

func (t faultTarget) AddWatchLatency(d time.Duration) {
	t.c.watchExtra += d
	base := t.c.API.WatchLatency() - (t.c.watchExtra - d)
	next := base + t.c.watchExtra
	if next <= 0 {
		next = -1 // none
	}
	t.c.API.SetWatchLatency(next)
}
