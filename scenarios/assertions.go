package scenarios

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/scenarios/assert"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/loop"
)

// DefaultSampleInterval is how often assertions are checked when spec.sampleInterval is
// not set.
const DefaultSampleInterval = 5 * time.Second

// Assertion is one entry of spec.assertions: an expression and when it must hold (see
// package assert).
type Assertion struct {
	Name   string    `yaml:"name"`
	Expect string    `yaml:"expect"`
	Always bool      `yaml:"always"`
	After  *Duration `yaml:"after"`
	Within *Duration `yaml:"within"`
	expr   assert.Expr
}

// validateAssertions parses every assertion's expression and checks its window.
func (s *Scenario) validateAssertions() model.ErrorList {
	var errs model.ErrorList
	names := map[string]bool{}
	for i := range s.Spec.Assertions {
		a := &s.Spec.Assertions[i]
		field := fmt.Sprintf("spec.assertions[%d]", i)
		if a.Name == "" {
			a.Name = fmt.Sprintf("assertion-%d", i+1)
		}
		if names[a.Name] {
			errs = append(errs, s.errorf(field+".name", "Duplicate value: %q", a.Name))
		}
		names[a.Name] = true
		if a.Expect == "" {
			errs = append(errs, s.errorf(field+".expect", "Required value: an expression such as \"deployment default/web available >= 3\""))
		} else if e, err := assert.Parse(a.Expect); err != nil {
			errs = append(errs, s.errorf(field+".expect", "Invalid value: %v", err))
		} else {
			a.expr = e
		}
		if a.Within != nil && a.Within.Duration <= 0 {
			errs = append(errs, s.errorf(field+".within", "Invalid value: %v: must be positive", a.Within.Duration))
		}
		if a.After != nil && a.After.Duration < 0 {
			errs = append(errs, s.errorf(field+".after", "Invalid value: %v: must not be negative", a.After.Duration))
		}
		if a.Within != nil && a.Always {
			errs = append(errs, s.errorf(field+".always", "Invalid value: true: always and within exclude each other"))
		}
	}
	if s.Spec.SampleInterval != nil && s.Spec.SampleInterval.Duration <= 0 {
		errs = append(errs, s.errorf("spec.sampleInterval", "Invalid value: %v: must be positive", s.Spec.SampleInterval.Duration))
	}
	return errs
}

// assertions returns the validated assertions for a checker.
func (s *Scenario) assertions() []assert.Assertion {
	out := make([]assert.Assertion, len(s.Spec.Assertions))
	for i, a := range s.Spec.Assertions {
		out[i] = assert.Assertion{Name: a.Name, Expr: a.expr, Always: a.Always}
		if a.After != nil {
			out[i].After = a.After.Duration
		}
		if a.Within != nil {
			out[i].Within = a.Within.Duration
		}
	}
	return out
}

// sampleInterval is spec.sampleInterval or the default.
func (s *Scenario) sampleInterval() time.Duration {
	if s.Spec.SampleInterval != nil {
		return s.Spec.SampleInterval.Duration
	}
	return DefaultSampleInterval
}

// checkAssertions samples the assertions every interval and at their window boundaries,
// and returns a function that finishes them at the run's end.
func (s *Scenario) checkAssertions(c *sim.Cluster) func(end time.Duration) []assert.Result {
	if len(s.Spec.Assertions) == 0 {
		return func(time.Duration) []assert.Result { return nil }
	}
	checker := assert.NewChecker(s.assertions())
	st := clusterState{c}
	sample := func() { checker.Sample(c.Loop.Elapsed(), st) }
	every := s.sampleInterval()
	var tick func()
	tick = func() {
		sample()
		c.Loop.After(every, tick)
	}
	c.Loop.At(loop.Epoch, tick)
	for _, t := range checker.Times() {
		if t%every != 0 {
			c.Loop.At(loop.Epoch.Add(t), sample)
		}
	}
	return func(end time.Duration) []assert.Result { return checker.Finish(end, st) }
}

// clusterState reads assertion queries from a running cluster through its admin client.
type clusterState struct{ c *sim.Cluster }

// Value implements assert.State.
func (st clusterState) Value(q assert.Query) (float64, error) {
	switch q.Kind {
	case "deployment":
		obj, err := st.get("deployments", q)
		if obj == nil {
			return 0, err
		}
		d := obj.(*appsv1.Deployment).Status
		return float64(map[string]int32{"available": d.AvailableReplicas, "ready": d.ReadyReplicas, "updated": d.UpdatedReplicas,
			"replicas": d.Replicas, "unavailable": d.UnavailableReplicas}[q.Metric]), nil
	case "daemonset":
		obj, err := st.get("daemonsets", q)
		if obj == nil {
			return 0, err
		}
		d := obj.(*appsv1.DaemonSet).Status
		return float64(map[string]int32{"desired": d.DesiredNumberScheduled, "ready": d.NumberReady, "available": d.NumberAvailable,
			"unavailable": d.NumberUnavailable}[q.Metric]), nil
	case "job":
		obj, err := st.get("jobs", q)
		if obj == nil {
			return 0, err
		}
		j := obj.(*batchv1.Job)
		if q.Metric == "complete" {
			for _, c := range j.Status.Conditions {
				if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
					return 1, nil
				}
			}
			return 0, nil
		}
		return float64(map[string]int32{"active": j.Status.Active, "succeeded": j.Status.Succeeded, "failed": j.Status.Failed}[q.Metric]), nil
	case "service":
		return st.service(q)
	case "pods":
		return st.pods(q.Metric)
	case "nodes":
		return st.nodes(q.Metric)
	case "node-utilisation", "node-allocation":
		return st.utilisation(q.Kind == "node-allocation", q.Metric)
	}
	return 0, fmt.Errorf("unknown subject %q", q.Kind)
}

// get reads a named object; a missing one is (nil, nil), which reads as 0.
func (st clusterState) get(resource string, q assert.Query) (runtime.Object, error) {
	obj, err := st.c.Admin.Get(resource, q.Namespace, q.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

func (st clusterState) list(resource, ns string) ([]runtime.Object, error) {
	res, err := st.c.Admin.List(resource, ns, apiserver.Filter{}, true)
	if err != nil {
		return nil, err
	}
	return res.Items, nil
}

func (st clusterState) service(q assert.Query) (float64, error) {
	if q.Metric == "endpoints" {
		slices, err := st.list("endpointslices", q.Namespace)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, obj := range slices {
			es := obj.(*discoveryv1.EndpointSlice)
			if es.Labels[discoveryv1.LabelServiceName] != q.Name {
				continue
			}
			for _, ep := range es.Endpoints {
				if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
					n++
				}
			}
		}
		return float64(n), nil
	}
	t := st.c.Traffic()
	if t == nil {
		return 0, fmt.Errorf("no traffic in this scenario: %s needs spec.traffic to %s/%s", q.Metric, q.Namespace, q.Name)
	}
	var requests, failed uint64
	found := false
	for _, s := range t.Stats() {
		if s.Stream.Service == q.Namespace+"/"+q.Name {
			requests += s.Requests
			failed += s.Failed
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no traffic stream to service %s/%s in spec.traffic", q.Namespace, q.Name)
	}
	switch q.Metric {
	case "requests":
		return float64(requests), nil
	case "failed-requests":
		return float64(failed), nil
	case "failed-requests-ratio":
		if requests == 0 {
			return 0, nil
		}
		return float64(failed) / float64(requests), nil
	case "availability":
		if requests == 0 {
			return 1, nil
		}
		return 1 - float64(failed)/float64(requests), nil
	}
	return 0, fmt.Errorf("unknown service metric %q", q.Metric)
}

func (st clusterState) pods(metric string) (float64, error) {
	pods, err := st.list("pods", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, obj := range pods {
		p := obj.(*corev1.Pod)
		switch metric {
		case "total":
			n++
		case "pending":
			if p.Status.Phase == corev1.PodPending {
				n++
			}
		case "running":
			if p.Status.Phase == corev1.PodRunning {
				n++
			}
		case "succeeded":
			if p.Status.Phase == corev1.PodSucceeded {
				n++
			}
		case "failed":
			if p.Status.Phase == corev1.PodFailed {
				n++
			}
		case "evicted":
			if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
				n++
			}
		case "unschedulable":
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					n++
				}
			}
		case "restarts":
			for _, cs := range p.Status.ContainerStatuses {
				n += int(cs.RestartCount)
			}
		}
	}
	return float64(n), nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (st clusterState) nodes(metric string) (float64, error) {
	nodes, err := st.list("nodes", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, obj := range nodes {
		node := obj.(*corev1.Node)
		switch {
		case metric == "total",
			metric == "ready" && nodeReady(node),
			metric == "not-ready" && !nodeReady(node),
			metric == "unschedulable" && node.Spec.Unschedulable:
			n++
		}
	}
	return float64(n), nil
}

// utilisation is, over the ready nodes, the pods' usage (or, for allocation, requests)
// of a resource divided by the nodes' allocatable.
func (st clusterState) utilisation(allocation bool, resource string) (float64, error) {
	nodes, err := st.list("nodes", "")
	if err != nil {
		return 0, err
	}
	name := corev1.ResourceName(resource)
	ready := map[string]bool{}
	var capacity float64
	for _, obj := range nodes {
		n := obj.(*corev1.Node)
		if !nodeReady(n) {
			continue
		}
		ready[n.Name] = true
		q := n.Status.Allocatable[name]
		if name == corev1.ResourceCPU {
			capacity += float64(q.MilliValue())
		} else {
			capacity += float64(q.Value())
		}
	}
	if capacity == 0 {
		return 0, nil
	}
	var used float64
	if allocation {
		pods, err := st.list("pods", "")
		if err != nil {
			return 0, err
		}
		for _, obj := range pods {
			p := obj.(*corev1.Pod)
			if !ready[p.Spec.NodeName] || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			if name == corev1.ResourcePods {
				used++
				continue
			}
			q := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})[name]
			if name == corev1.ResourceCPU {
				used += float64(q.MilliValue())
			} else {
				used += float64(q.Value())
			}
		}
		return used / capacity, nil
	}
	if name == corev1.ResourcePods {
		return 0, fmt.Errorf("node-utilisation has no pods metric; use node-allocation pods")
	}
	for _, pu := range st.c.PodUsage() {
		for _, cu := range pu.Containers {
			if name == corev1.ResourceCPU {
				used += float64(cu.MilliCPU)
			} else {
				used += float64(cu.MemoryBytes)
			}
		}
	}
	return used / capacity, nil
}
