package kubelet

import (
	"sort"

	"k8s.io/apimachinery/pkg/types"
)

// PodUsage is one pod's resource usage now, as metrics-server scrapes it from the
// kubelet's /metrics/resource.
type PodUsage struct {
	// Namespace, Name and UID identify the pod.
	Namespace, Name string
	UID             types.UID
	// Containers lists the running containers' usage, init containers first, in spec
	// order.
	Containers []ContainerUsage
}

// ContainerUsage is one container's usage.
type ContainerUsage struct {
	// Name is the container's name.
	Name string
	Usage
}

// PodUsage returns the usage of every pod with a running container, ordered by namespace
// and name.
func (k *Kubelet) PodUsage() []PodUsage {
	if !k.up {
		return nil
	}
	keys := make([]string, 0, len(k.workers))
	for key := range k.workers {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var out []PodUsage
	for _, key := range keys {
		w := k.workers[key]
		pu := PodUsage{Namespace: w.pod.Namespace, Name: w.pod.Name, UID: w.uid}
		for _, c := range w.all() {
			if c.phase != cRunning {
				continue
			}
			if u, ok := k.runtime.Usage(c.id); ok {
				pu.Containers = append(pu.Containers, ContainerUsage{Name: c.spec.Name, Usage: u})
			}
		}
		if len(pu.Containers) > 0 {
			out = append(out, pu)
		}
	}
	return out
}
