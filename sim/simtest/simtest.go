// Package simtest builds small clusters for tests of components driven through the API
// server in virtual time.
package simtest

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
)

// Node returns a node object with the given capacity.
func Node(name, cpu, memory string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse("110"),
		}},
	}
}

// Pod returns a pod in namespace default requesting cpu and memory.
func Pod(name, cpu, memory string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		}}}},
	}
}

// Cluster is a test cluster that records every component action.
type Cluster struct {
	*sim.Cluster
	T       testing.TB
	Actions []eventlog.Entry
}

// New starts a cluster with the given nodes (seed 1).
func New(t testing.TB, nodes ...*corev1.Node) *Cluster {
	t.Helper()
	return NewWithConfig(t, sim.Config{Seed: 1, Nodes: nodes})
}

// NewWithConfig starts a cluster from cfg.
func NewWithConfig(t testing.TB, cfg sim.Config) *Cluster {
	t.Helper()
	c, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := &Cluster{Cluster: c, T: t}
	c.Log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() {
			tc.Actions = append(tc.Actions, *e)
		}
	})
	return tc
}

// Apply applies objects as the admin or fails the test.
func (c *Cluster) Apply(objs ...runtime.Object) {
	c.T.Helper()
	if err := c.Cluster.Apply(objs...); err != nil {
		c.T.Fatal(err)
	}
}

// Pod returns the named pod in namespace default, or nil.
func (c *Cluster) Pod(name string) *corev1.Pod {
	obj, err := c.Admin.Get("pods", "default", name)
	if err != nil {
		return nil
	}
	return obj.(*corev1.Pod)
}

// Node returns the named node.
func (c *Cluster) Node(name string) *corev1.Node {
	c.T.Helper()
	obj, err := c.Admin.Get("nodes", "", name)
	if err != nil {
		c.T.Fatal(err)
	}
	return obj.(*corev1.Node)
}

// Pods lists the pods in namespace default.
func (c *Cluster) Pods() []*corev1.Pod {
	c.T.Helper()
	res, err := c.Admin.List("pods", "default", apiserver.Filter{}, false)
	if err != nil {
		c.T.Fatal(err)
	}
	out := make([]*corev1.Pod, len(res.Items))
	for i, o := range res.Items {
		out[i] = o.(*corev1.Pod)
	}
	return out
}

// FirstAction returns the time of the first action with reason (and object name, if not
// empty), or -1.
func (c *Cluster) FirstAction(reason, name string) time.Duration {
	for _, e := range c.Actions {
		if e.Reason == reason && (name == "" || e.Name == name) {
			return e.At
		}
	}
	return -1
}

// CountActions counts actions with reason.
func (c *Cluster) CountActions(reason string) int {
	n := 0
	for _, e := range c.Actions {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// Ready reports the status of the node's Ready condition.
func Ready(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// HasTaint reports whether the node has the taint key with effect.
func HasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

// Events returns the core/v1 Events with reason in every namespace, oldest first.
func (c *Cluster) Events(reason string) []*corev1.Event {
	c.T.Helper()
	res, err := c.Admin.List("events", "", apiserver.Filter{}, false)
	if err != nil {
		c.T.Fatal(err)
	}
	var out []*corev1.Event
	for _, o := range res.Items {
		if ev := o.(*corev1.Event); ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return events.Sorted(out)
}
