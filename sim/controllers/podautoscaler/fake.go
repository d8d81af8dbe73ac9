package podautoscaler

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// FakeWindow is the window a Fake's samples report: metrics-server's default metric
// resolution (--metric-resolution=15s).
const FakeWindow = 15 * time.Second

// UsageFunc returns a container's usage at now; ok=false leaves the whole pod without a
// sample (missing metrics).
type UsageFunc func(pod *corev1.Pod, container string, now time.Time) (cpuMilli, memoryBytes int64, ok bool)

// Fake is a MetricsSource for tests and for clusters without metrics-server: it samples,
// at the clock's time, every pod of Pods in the namespace that matches the selector, is
// Running and not being deleted, with the usage Usage returns for each container.
type Fake struct {
	// Clock stamps the samples.
	Clock loop.Clock
	// Pods is an informer over pods; the fake reads it, never writes.
	Pods *informer.Informer
	// Usage gives each container's usage; nil reports zero usage.
	Usage UsageFunc
	// Window is the samples' window; zero means FakeWindow.
	Window time.Duration
	// Err, when set, is returned instead of samples (the metrics API is down).
	Err error
	// Calls counts PodMetrics calls.
	Calls int
}

// PodMetrics implements MetricsSource.
func (f *Fake) PodMetrics(namespace string, selector labels.Selector) ([]PodMetric, error) {
	f.Calls++
	if f.Err != nil {
		return nil, f.Err
	}
	now := f.Clock.Now()
	window := f.Window
	if window == 0 {
		window = FakeWindow
	}
	var out []PodMetric
	// The informer ranges in namespace/name order, so the samples come sorted by name.
	f.Pods.Range(func(obj runtime.Object) bool {
		pod := obj.(*corev1.Pod)
		if pod.Namespace != namespace || !selector.Matches(labels.Set(pod.Labels)) ||
			pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			return true
		}
		pm := PodMetric{Name: pod.Name, Timestamp: now, Window: window}
		for _, c := range pod.Spec.Containers {
			var cpu, mem int64
			if f.Usage != nil {
				var ok bool
				if cpu, mem, ok = f.Usage(pod, c.Name, now); !ok {
					return true
				}
			}
			pm.Containers = append(pm.Containers, ContainerMetric{Name: c.Name, CPUMilli: cpu, MemoryBytes: mem})
		}
		out = append(out, pm)
		return true
	})
	return out, nil
}
