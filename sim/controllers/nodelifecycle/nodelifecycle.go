// Package nodelifecycle is the node lifecycle controller: it watches node heartbeats (the
// Ready condition and the node's Lease), marks a node's conditions Unknown when the kubelet
// has been silent longer than the grace period, and taints nodes that are not ready or
// unreachable — NoSchedule at once, NoExecute at a rate-limited pace per zone — so the
// scheduler avoids them and the taint eviction controller moves their pods.
package nodelifecycle

import (
	"fmt"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
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
	// DefaultSecondaryEvictionQPS is --secondary-node-eviction-rate: the rate in a
	// partially disrupted zone of a large cluster.
	DefaultSecondaryEvictionQPS = 0.01
	// DefaultLargeClusterThreshold is --large-cluster-size-threshold: a zone with at most
	// this many nodes stops evicting when partially disrupted.
	DefaultLargeClusterThreshold = 50
	// DefaultUnhealthyZoneThreshold is --unhealthy-zone-threshold: the share of not-ready
	// nodes (at least 3) from which a zone is partially disrupted.
	DefaultUnhealthyZoneThreshold = 0.55
)

// ZoneState is a zone's health, as upstream's node lifecycle controller classifies it.
type ZoneState string

// The zone states.
const (
	StateNormal            ZoneState = "Normal"
	StatePartialDisruption ZoneState = "PartialDisruption"
	StateFullDisruption    ZoneState = "FullDisruption"
)

// Options override the defaults; zero values mean the default.
type Options struct {
	MonitorPeriod          time.Duration
	GracePeriod            time.Duration
	EvictionQPS            float64
	SecondaryEvictionQPS   float64
	LargeClusterThreshold  int
	UnhealthyZoneThreshold float64
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
	// qps is the zone's current tainting rate (0: stopped) and state its health.
	qps   float64
	state ZoneState
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
	recorder *events.Recorder
	// allDisrupted is set while every zone is fully disrupted ("master disruption mode").
	allDisrupted bool
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
	if opts.SecondaryEvictionQPS <= 0 {
		opts.SecondaryEvictionQPS = DefaultSecondaryEvictionQPS
	}
	if opts.LargeClusterThreshold <= 0 {
		opts.LargeClusterThreshold = DefaultLargeClusterThreshold
	}
	if opts.UnhealthyZoneThreshold <= 0 {
		opts.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	return &Controller{clock: clock, log: log, client: client, nodes: nodes, leases: leases, opts: opts,
		health: map[string]*health{}, zones: map[string]*zoneQueue{}, identity: apiserver.ControllerManagerUser,
		recorder: events.New(clock, client, EventSource, "")}
}

// Start begins the periodic monitoring.
func (c *Controller) Start() {
	c.watchConditions()
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
	var nodes []*corev1.Node
	for _, obj := range c.nodes.List() {
		node := obj.(*corev1.Node)
		seen[node.Name] = true
		h := c.observe(node, now)
		if now.After(h.probe.Add(c.opts.GracePeriod)) {
			node = c.markUnknown(node)
		}
		c.reconcileTaints(node)
		nodes = append(nodes, node)
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	c.handleDisruption(nodes)
	for _, zone := range c.sortedZones() {
		c.drain(zone, c.zones[zone])
	}
}

// zoneState classifies a zone as upstream's ComputeZoneState: fully disrupted when no node
// is ready, partially when at least 3 and the unhealthy share of them are not.
func (c *Controller) zoneState(ready, notReady int) ZoneState {
	switch {
	case ready == 0 && notReady > 0:
		return StateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+ready) >= c.opts.UnhealthyZoneThreshold:
		return StatePartialDisruption
	}
	return StateNormal
}

// zoneQPS is a zone's tainting rate in a state: normal in Normal and FullDisruption; in
// PartialDisruption the secondary rate in a large zone, else none.
func (c *Controller) zoneQPS(state ZoneState, size int) float64 {
	if state == StatePartialDisruption {
		if size > c.opts.LargeClusterThreshold {
			return c.opts.SecondaryEvictionQPS
		}
		return 0
	}
	return c.opts.EvictionQPS
}

// handleDisruption updates the zones' states and rates from this pass's nodes, as
// upstream's handleDisruption: when every zone is fully disrupted the controller assumes
// the fault is its own (the control plane cut off from the nodes), removes the NoExecute
// taints and stops tainting until a node is ready again.
func (c *Controller) handleDisruption(nodes []*corev1.Node) {
	ready, notReady := map[string]int{}, map[string]int{}
	for _, n := range nodes {
		z := ZoneOf(n)
		c.zone(z)
		if cond := readyCondition(n); cond != nil && cond.Status == corev1.ConditionTrue {
			ready[z]++
		} else {
			notReady[z]++
		}
	}
	zones := c.sortedZones()
	states := map[string]ZoneState{}
	all := len(zones) > 0
	for _, z := range zones {
		states[z] = c.zoneState(ready[z], notReady[z])
		if states[z] != StateFullDisruption {
			all = false
		}
	}
	switch {
	case all && !c.allDisrupted:
		c.allDisrupted = true
		c.log.Action(c.identity, "AllNodesNotReady", "nodes", "", "", "Controller detected that all Nodes are not-Ready. Entering master disruption mode.")
		for _, n := range nodes {
			c.markReachable(n.Name)
		}
		for _, z := range zones {
			q := c.zones[z]
			q.state, q.qps = StateFullDisruption, 0
			q.nodes, q.queued = nil, map[string]bool{}
		}
		return
	case all:
		return
	case c.allDisrupted:
		c.allDisrupted = false
		c.log.Action(c.identity, "SomeNodesReady", "nodes", "", "", "Controller detected that some Nodes are Ready. Exiting master disruption mode.")
		for _, z := range zones {
			c.zones[z].state = "" // every zone takes its rate afresh
		}
	}
	for _, z := range zones {
		q := c.zones[z]
		if q.state == states[z] {
			continue
		}
		if q.state != "" {
			c.log.Action(c.identity, "ZoneStateChanged", "nodes", "", "", fmt.Sprintf("Controller detected that zone %s is now in state %s.", zoneName(z), states[z]))
		}
		q.state = states[z]
		q.qps = c.zoneQPS(states[z], ready[z]+notReady[z])
	}
}

// markReachable removes a node's not-ready and unreachable NoExecute taints.
func (c *Controller) markReachable(name string) {
	c.updateTaints(name, func(n *corev1.Node) {
		var keep []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoExecute && (t.Key == apiserver.TaintNodeNotReady || t.Key == apiserver.TaintNodeUnreachable) {
				continue
			}
			keep = append(keep, t)
		}
		n.Spec.Taints = keep
	})
}

// zone returns a zone's queue, creating it at the normal rate.
func (c *Controller) zone(z string) *zoneQueue {
	q := c.zones[z]
	if q == nil {
		q = &zoneQueue{queued: map[string]bool{}, qps: c.opts.EvictionQPS}
		c.zones[z] = q
	}
	return q
}

func (c *Controller) sortedZones() []string {
	out := make([]string, 0, len(c.zones))
	for z := range c.zones {
		out = append(out, z)
	}
	sort.Strings(out)
	return out
}

// zoneName prints a zone key as region/zone (or the zone alone).
func zoneName(key string) string {
	r, z, _ := strings.Cut(key, ":\x00:")
	if r == "" {
		return z
	}
	return r + "/" + z
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
	if rc := readyCondition(node); rc != nil && rc.Status == corev1.ConditionTrue {
		c.markPodsNotReady(node.Name)
	}
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

// enqueueNoExecute queues the node for its NoExecute taint; the pass's end drains the
// queues at each zone's rate (after the zones' states are known, as upstream's separate
// tainting pass runs after the monitor pass).
func (c *Controller) enqueueNoExecute(zone, name string) {
	q := c.zone(zone)
	if q.queued[name] || c.allDisrupted {
		return
	}
	q.queued[name] = true
	q.nodes = append(q.nodes, name)
}

// drain taints the next queued node when the zone's rate limiter allows, and schedules
// itself for the next one.
func (c *Controller) drain(zone string, q *zoneQueue) {
	now := c.clock.Now()
	if q.timer != nil || q.qps <= 0 {
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
		q.nextAllow = now.Add(time.Duration(float64(time.Second) / q.qps))
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
