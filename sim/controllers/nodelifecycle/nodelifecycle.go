// Package nodelifecycle is the node lifecycle controller: it watches node heartbeats (the
// Ready condition and the node's Lease), marks a node's conditions Unknown when the kubelet
// has been silent longer than the grace period, and taints nodes that are not ready or
// unreachable — NoSchedule at once, NoExecute at a rate-limited pace per zone — so the
// scheduler avoids them and the taint eviction controller moves their pods.
package nodelifecycle

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Kubernetes' defaults for kube-controller-manager's node lifecycle flags.
const (
	// DefaultMonitorPeriod is --node-monitor-period.
	DefaultMonitorPeriod = 5 * time.Second
	// DefaultGracePeriod is --node-monitor-grace-period (50 s since Kubernetes 1.32).
	DefaultGracePeriod = 50 * time.Second
	// DefaultEvictionQPS is --node-eviction-rate: nodes tainted NoExecute per second per zone.
	DefaultEvictionQPS = 0.1
)

// Options override the defaults; zero values mean the default.
type Options struct {
	MonitorPeriod time.Duration
	GracePeriod   time.Duration
	EvictionQPS   float64
}

const (
	reasonUnknown  = "NodeStatusUnknown"
	messageUnknown = "Kubelet stopped posting node status."
	reasonNever    = "NodeStatusNeverUpdated"
	messageNever   = "Kubelet never posted node status."
)

// health is what the controller remembers of a node's heartbeats.
type health struct {
	probe     time.Time // when a heartbeat was last seen to change
	heartbeat metav1.Time
	renew     *metav1.MicroTime
}

// zoneQueue rate-limits NoExecute tainting in one zone.
type zoneQueue struct {
	nodes     []string
	queued    map[string]bool
	nextAllow time.Time
	timer     *loop.Timer
}

// Controller is the node lifecycle controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	nodes    *informer.Informer
	leases   *informer.Informer
	opts     Options
	health   map[string]*health
	zones    map[string]*zoneQueue
	identity string
}

// New returns the controller; leases must watch the kube-node-lease namespace.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, nodes, leases *informer.Informer, opts Options) *Controller {
	if opts.MonitorPeriod <= 0 {
		opts.MonitorPeriod = DefaultMonitorPeriod
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	if opts.EvictionQPS <= 0 {
		opts.EvictionQPS = DefaultEvictionQPS
	}
	return &Controller{clock: clock, log: log, client: client, nodes: nodes, leases: leases, opts: opts,
		health: map[string]*health{}, zones: map[string]*zoneQueue{}, identity: apiserver.ControllerManagerUser}
}

// Start begins the periodic monitoring.
func (c *Controller) Start() {
	var tick func()
	tick = func() {
		c.monitor()
		c.clock.After(c.opts.MonitorPeriod, tick)
	}
	c.clock.After(c.opts.MonitorPeriod, tick)
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// ZoneOf returns the zone key of a node (region and zone labels), "" if unlabelled.
func ZoneOf(n *corev1.Node) string {
	r, z := n.Labels[corev1.LabelTopologyRegion], n.Labels[corev1.LabelTopologyZone]
	if r == "" && z == "" {
		return ""
	}
	return r + ":\x00:" + z
}

func (c *Controller) monitor() {
	now := c.clock.Now()
	seen := map[string]bool{}
	for _, obj := range c.nodes.List() {
		node := obj.(*corev1.Node)
		seen[node.Name] = true
		h := c.observe(node, now)
		if now.After(h.probe.Add(c.opts.GracePeriod)) {
			node = c.markUnknown(node)
		}
		c.reconcileTaints(node)
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
}

// observe updates the node's health record from its Ready heartbeat and its Lease.
func (c *Controller) observe(node *corev1.Node, now time.Time) *health {
	h := c.health[node.Name]
	if h == nil {
		h = &health{probe: now}
		c.health[node.Name] = h
	}
	if rc := readyCondition(node); rc != nil && !rc.LastHeartbeatTime.Equal(&h.heartbeat) {
		h.heartbeat = rc.LastHeartbeatTime
		h.probe = now
	}
	if obj, ok := c.leases.Get(apiserver.NodeLeaseNamespace, node.Name); ok {
		if rt := obj.(*coordinationv1.Lease).Spec.RenewTime; rt != nil && (h.renew == nil || rt.After(h.renew.Time)) {
			h.renew = rt.DeepCopy()
			h.probe = now
		}
	}
	return h
}

// markUnknown sets the node's conditions to Unknown after the kubelet went silent.
func (c *Controller) markUnknown(node *corev1.Node) *corev1.Node {
	next := node.DeepCopy()
	now := metav1.NewTime(c.clock.Now())
	changed := false
	if readyCondition(next) == nil {
		next.Status.Conditions = append(next.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: reasonNever, Message: messageNever, LastTransitionTime: now})
		changed = true
	}
	for i := range next.Status.Conditions {
		cond := &next.Status.Conditions[i]
		switch cond.Type {
		case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
		default:
			continue
		}
		if cond.Status == corev1.ConditionUnknown {
			continue
		}
		cond.Status, cond.Reason, cond.Message, cond.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, now
		changed = true
	}
	if !changed {
		return node
	}
	updated, err := c.client.UpdateStatus(next)
	if err != nil {
		return node // retried on the next pass
	}
	c.log.Action(c.identity, "NodeNotReady", "nodes", "", node.Name, fmt.Sprintf("Node %s status is now: NodeNotReady", node.Name))
	return updated.(*corev1.Node)
}

// desiredTaint returns the key of the taint the node's Ready condition calls for, "" if none.
func desiredTaint(node *corev1.Node) string {
	rc := readyCondition(node)
	switch {
	case rc == nil:
		return ""
	case rc.Status == corev1.ConditionFalse:
		return apiserver.TaintNodeNotReady
	case rc.Status == corev1.ConditionUnknown:
		return apiserver.TaintNodeUnreachable
	}
	return ""
}

func hasTaint(node *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

// reconcileTaints sets the NoSchedule taint for the node's condition at once and queues
// the NoExecute taint through the zone's rate limiter; a ready node loses both.
func (c *Controller) reconcileTaints(node *corev1.Node) {
	want := desiredTaint(node)
	stale := func(t corev1.Taint) bool {
		return (t.Key == apiserver.TaintNodeNotReady || t.Key == apiserver.TaintNodeUnreachable) && t.Key != want
	}
	needNoSchedule := want != "" && !hasTaint(node, want, corev1.TaintEffectNoSchedule)
	hasStale := false
	for _, t := range node.Spec.Taints {
		if stale(t) {
			hasStale = true
		}
	}
	if needNoSchedule || hasStale {
		c.updateTaints(node.Name, func(n *corev1.Node) {
			var keep []corev1.Taint
			for _, t := range n.Spec.Taints {
				if !stale(t) {
					keep = append(keep, t)
				}
			}
			if want != "" && !hasTaint(n, want, corev1.TaintEffectNoSchedule) {
				keep = append(keep, corev1.Taint{Key: want, Effect: corev1.TaintEffectNoSchedule})
			}
			n.Spec.Taints = keep
		})
		if want == "" {
			c.log.Action(c.identity, "NodeReady", "nodes", "", node.Name, fmt.Sprintf("Node %s is ready again; removed its not-ready and unreachable taints", node.Name))
		}
	}
	if want != "" && !hasTaint(node, want, corev1.TaintEffectNoExecute) {
		c.enqueueNoExecute(ZoneOf(node), node.Name)
	}
}

func (c *Controller) enqueueNoExecute(zone, name string) {
	q := c.zones[zone]
	if q == nil {
		q = &zoneQueue{queued: map[string]bool{}}
		c.zones[zone] = q
	}
	if q.queued[name] {
		return
	}
	q.queued[name] = true
	q.nodes = append(q.nodes, name)
	c.drain(zone, q)
}

// drain taints the next queued node when the zone's rate limiter allows, and schedules
// itself for the next one.
func (c *Controller) drain(zone string, q *zoneQueue) {
	now := c.clock.Now()
	if q.timer != nil {
		return
	}
	if now.Before(q.nextAllow) {
		q.timer = c.clock.At(q.nextAllow, func() { q.timer = nil; c.drain(zone, q) })
		return
	}
	for len(q.nodes) > 0 {
		name := q.nodes[0]
		q.nodes = q.nodes[1:]
		delete(q.queued, name)
		// Read the node from the API server: this pass may just have changed its
		// conditions, which the informer has not seen yet.
		obj, err := c.client.Get("nodes", "", name)
		if err != nil {
			continue
		}
		want := desiredTaint(obj.(*corev1.Node))
		if want == "" || hasTaint(obj.(*corev1.Node), want, corev1.TaintEffectNoExecute) {
			continue
		}
		added := metav1.NewTime(now)
		c.updateTaints(name, func(n *corev1.Node) {
			if !hasTaint(n, want, corev1.TaintEffectNoExecute) {
				n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: want, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added})
			}
		})
		c.log.Action(c.identity, "NodeTainted", "nodes", "", name, fmt.Sprintf("Added taint %s:NoExecute to node %s", want, name))
		q.nextAllow = now.Add(time.Duration(float64(time.Second) / c.opts.EvictionQPS))
		if len(q.nodes) > 0 {
			q.timer = c.clock.At(q.nextAllow, func() { q.timer = nil; c.drain(zone, q) })
		}
		return
	}
}

// updateTaints applies fn to a fresh copy of the node and writes it, retrying conflicts
// with the kubelet's concurrent status writes.
func (c *Controller) updateTaints(name string, fn func(*corev1.Node)) {
	for attempt := 0; attempt < 5; attempt++ {
		obj, err := c.client.Get("nodes", "", name)
		if err != nil {
			return
		}
		n := obj.(*corev1.Node)
		before := append([]corev1.Taint(nil), n.Spec.Taints...)
		fn(n)
		if equality.Semantic.DeepEqual(before, n.Spec.Taints) {
			return
		}
		if _, err = c.client.Update(n); err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}
