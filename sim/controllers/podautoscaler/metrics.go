package podautoscaler

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// MetricsSource is the resource metrics API (metrics.k8s.io, served by metrics-server in a
// real cluster) as the controller reads it: the latest usage sample of every pod in a
// namespace that matches a label selector.
//
// An implementation returns the samples ordered by pod name, each pod's containers in the
// pod spec's order, and only pods it has a sample for: a pod left out counts as "missing
// metrics" to the controller, as a pod metrics-server has not scraped yet does upstream.
// An error means the API could not answer at all (upstream: the metrics API unavailable).
type MetricsSource interface {
	PodMetrics(namespace string, selector labels.Selector) ([]PodMetric, error)
}

// PodMetric is one pod's usage sample, as a metrics.k8s.io PodMetrics object.
type PodMetric struct {
	// Name is the pod's name (the namespace is the one asked for).
	Name string
	// Timestamp is when the sample was taken (the end of its window).
	Timestamp time.Time
	// Window is the interval the usage was averaged over, ending at Timestamp.
	Window time.Duration
	// Containers lists the pod's containers' usage, in the pod spec's order.
	Containers []ContainerMetric
}

// ContainerMetric is one container's usage within a PodMetric.
type ContainerMetric struct {
	// Name is the container's name.
	Name string
	// CPUMilli is the container's CPU usage in millicores.
	CPUMilli int64
	// MemoryBytes is the container's working-set memory in bytes.
	MemoryBytes int64
}

// sample is one pod's value of one resource, in milli-units as upstream's metrics client
// reports it (millicores for CPU, thousandths of a byte for memory).
type sample struct {
	value     int64
	timestamp time.Time
	window    time.Duration
}

// errNoMetrics is what upstream's metrics client answers when the API returns no items.
const errNoMetrics = "no metrics returned from resource metrics API"

// resourceSamples reads the pods' samples of resource from src, summing a pod's
// containers, or taking only the named container if container is not empty. A pod whose
// sample lacks the container, or that lists no containers, is left out (missing).
func resourceSamples(src MetricsSource, namespace string, selector labels.Selector, resource corev1.ResourceName, container string) (map[string]sample, time.Time, error) {
	pms, err := src.PodMetrics(namespace, selector)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to get metrics for resource %s: %w", resource, err)
	}
	if len(pms) == 0 {
		return nil, time.Time{}, fmt.Errorf("unable to get metrics for resource %s: %s", resource, errNoMetrics)
	}
	out := make(map[string]sample, len(pms))
	for _, pm := range pms {
		var sum int64
		found := false
		for _, c := range pm.Containers {
			if container != "" && c.Name != container {
				continue
			}
			v, ok := containerValue(c, resource)
			if !ok {
				found = false
				break
			}
			sum += v
			found = true
		}
		if found {
			out[pm.Name] = sample{value: sum, timestamp: pm.Timestamp, window: pm.Window}
		}
	}
	return out, pms[0].Timestamp, nil
}

// containerValue returns a container's usage of resource in milli-units; only CPU and
// memory are reported by the resource metrics API.
func containerValue(c ContainerMetric, resource corev1.ResourceName) (int64, bool) {
	switch resource {
	case corev1.ResourceCPU:
		return c.CPUMilli, true
	case corev1.ResourceMemory:
		return c.MemoryBytes * 1000, true
	}
	return 0, false
}
