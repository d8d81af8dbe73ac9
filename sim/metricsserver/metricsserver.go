// Package metricsserver is Orrery's metrics-server: every resolution period it scrapes the
// running kubelets' resource usage and serves the latest sample of each pod, as the
// resource metrics API (metrics.k8s.io) does for the HorizontalPodAutoscaler.
//
// A scenario's load (a total CPU demand on the pods a selector picks, over time) is shared
// evenly among those pods that are Running and Ready and added to what their kubelets
// report, capped at each container's CPU limit: the way a Service's traffic, spread by its
// endpoints, moves the CPU a real HPA sees. The kubelet itself does not see that share (its
// throttling and OOM decisions follow the pods' own usage profiles only).
package metricsserver

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/podautoscaler"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// DefaultResolution is metrics-server's --metric-resolution default: how often it scrapes
// and the window of each sample.
const DefaultResolution = 15 * time.Second

// Kubelet is what the metrics server scrapes: a node agent's resource usage endpoint.
type Kubelet interface {
	Up() bool
	PodUsage() []kubelet.PodUsage
}

// Load is a CPU demand on the pods of Namespace that Selector picks, in millicores over
// time since the start of the run, shared evenly among those Running and Ready.
type Load struct {
	Namespace string
	Selector  labels.Selector
	CPU       *model.Curve
}

// Server is the metrics server.
type Server struct {
	clock      loop.Clock
	kubelets   func() []Kubelet
	pods       *informer.Informer
	loads      []Load
	resolution time.Duration
	// samples are the latest scrape's pod samples by namespace/name.
	samples map[string]podautoscaler.PodMetric
	at      time.Time
}

// New returns a metrics server scraping the kubelets kubelets returns (in a fixed order)
// every resolution (0: DefaultResolution); client reads pods for their labels and limits.
func New(clock loop.Clock, client *apiserver.Client, kubelets func() []Kubelet, loads []Load, resolution time.Duration) *Server {
	if resolution <= 0 {
		resolution = DefaultResolution
	}
	return &Server{clock: clock, kubelets: kubelets, loads: loads, resolution: resolution,
		pods: informer.New(client, "pods", "", apiserver.Filter{}), samples: map[string]podautoscaler.PodMetric{}}
}

// Start begins scraping: the first scrape is one resolution after the start, as
// metrics-server needs two kubelet readings to compute a rate.
func (s *Server) Start() error {
	if err := s.pods.Start(); err != nil {
		return err
	}
	var tick func()
	tick = func() {
		s.scrape()
		s.clock.After(s.resolution, tick)
	}
	s.clock.After(s.resolution, tick)
	return nil
}

// scrape replaces the samples with the running kubelets' usage now plus the loads' shares.
func (s *Server) scrape() {
	now := s.clock.Now()
	s.at = now
	s.samples = map[string]podautoscaler.PodMetric{}
	shares := s.loadShares(now)
	for _, k := range s.kubelets() {
		if !k.Up() {
			continue // an unreachable kubelet's pods drop out, as a failed scrape does
		}
		for _, pu := range k.PodUsage() {
			key := pu.Namespace + "/" + pu.Name
			obj, ok := s.pods.Get(pu.Namespace, pu.Name)
			if !ok {
				continue
			}
			pod := obj.(*corev1.Pod)
			m := podautoscaler.PodMetric{Name: pu.Name, Timestamp: now, Window: s.resolution}
			for _, c := range pu.Containers {
				m.Containers = append(m.Containers, podautoscaler.ContainerMetric{Name: c.Name, CPUMilli: c.MilliCPU, MemoryBytes: c.MemoryBytes})
			}
			if share := shares[key]; share > 0 && len(m.Containers) > 0 {
				c := &m.Containers[0]
				c.CPUMilli += share
				if lim := cpuLimit(pod, c.Name); lim > 0 && c.CPUMilli > lim {
					c.CPUMilli = lim
				}
			}
			s.samples[key] = m
		}
	}
}

// loadShares divides each load's demand now among its Running and Ready pods.
func (s *Server) loadShares(now time.Time) map[string]int64 {
	out := map[string]int64{}
	elapsed := now.Sub(loop.Epoch)
	for _, l := range s.loads {
		var keys []string
		s.pods.Range(func(obj runtime.Object) bool {
			p := obj.(*corev1.Pod)
			if p.Namespace == l.Namespace && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && ready(p) && l.Selector.Matches(labels.Set(p.Labels)) {
				keys = append(keys, p.Namespace+"/"+p.Name)
			}
			return true
		})
		if len(keys) == 0 {
			continue
		}
		total := l.CPU.At(elapsed)
		each, rest := total/int64(len(keys)), total%int64(len(keys))
		for i, k := range keys { // key order: the remainder goes to the first pods
			out[k] += each
			if int64(i) < rest {
				out[k]++
			}
		}
	}
	return out
}

// PodMetrics implements podautoscaler.MetricsSource: the latest samples of the pods of
// namespace that selector picks, by pod name.
func (s *Server) PodMetrics(namespace string, selector labels.Selector) ([]podautoscaler.PodMetric, error) {
	var out []podautoscaler.PodMetric
	for key, m := range s.samples {
		obj, ok := s.pods.Get(namespace, m.Name)
		if !ok || key != namespace+"/"+m.Name || !selector.Matches(labels.Set(obj.(*corev1.Pod).Labels)) {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func cpuLimit(p *corev1.Pod, container string) int64 {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
				return q.MilliValue()
			}
		}
	}
	return 0
}
