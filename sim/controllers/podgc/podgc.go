// Package podgc is kube-controller-manager's pod garbage collector. Every check period it
// deletes, with grace period 0:
//   - terminated pods (Succeeded or Failed) beyond terminated-pod-gc-threshold, evicted
//     ones first, then the oldest;
//   - terminating pods on NotReady nodes tainted node.kubernetes.io/out-of-service;
//   - orphaned pods, bound to nodes that no longer exist, once a node has stayed missing
//     for the quarantine time and a live GET confirms it is gone — marked Failed with the
//     DisruptionTarget condition (reason DeletionByPodGC) first;
//   - unscheduled pods that are terminating.
//
// Pods not yet terminal are patched to Failed before the delete, as upstream does, since
// no kubelet will ever do it for them.
package podgc

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Defaults, as upstream's.
const (
	// DefaultGCCheckPeriod is how often the collector runs (gcCheckPeriod).
	DefaultGCCheckPeriod = 20 * time.Second
	// DefaultQuarantineTime is how long a node missing from the informer stays in
	// quarantine before a live GET decides it is gone (quarantineTime).
	DefaultQuarantineTime = 40 * time.Second
	// DefaultTerminatedPodThreshold is kube-controller-manager's
	// --terminated-pod-gc-threshold.
	DefaultTerminatedPodThreshold = 12500
	// ReasonDeletionByPodGC is the DisruptionTarget reason of an orphaned pod's deletion.
	ReasonDeletionByPodGC = "DeletionByPodGC"
	// MessageNodeGone is that condition's message.
	MessageNodeGone = "PodGC: node no longer exists"
	// evictedReason is the status reason of a pod the kubelet evicted.
	evictedReason = "Evicted"
)

// Options override the collector's defaults; zero fields mean the default.
type Options struct {
	// GCCheckPeriod is the period of the collection loop.
	GCCheckPeriod time.Duration
	// QuarantineTime is how long a missing node waits before its pods are collected.
	QuarantineTime time.Duration
	// TerminatedPodThreshold is how many terminated pods may exist; a negative value
	// disables their collection (upstream's 0).
	TerminatedPodThreshold int
}

func (o Options) withDefaults() Options {
	if o.GCCheckPeriod <= 0 {
		o.GCCheckPeriod = DefaultGCCheckPeriod
	}
	if o.QuarantineTime <= 0 {
		o.QuarantineTime = DefaultQuarantineTime
	}
	if o.TerminatedPodThreshold == 0 {
		o.TerminatedPodThreshold = DefaultTerminatedPodThreshold
	}
	return o
}

// Controller is the pod garbage collector.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	pods     *informer.Informer
	nodes    *informer.Informer
	opts     Options
	identity string
	// quarantine maps a missing node's name to when its quarantine ends (the delaying
	// queue of upstream: a name already waiting keeps its earlier time).
	quarantine map[string]time.Time
	timer      *loop.Timer
}

// New returns the collector reading pods and nodes from the given informers (no index is
// needed) and writing through client as the controller manager.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, pods, nodes *informer.Informer, opts Options) *Controller {
	return &Controller{clock: clock, log: log, client: client, pods: pods, nodes: nodes, opts: opts.withDefaults(),
		identity: apiserver.ControllerManagerUser, quarantine: map[string]time.Time{}}
}

// Start runs a collection now and then every check period (the informers must have been
// started).
func (c *Controller) Start() {
	if c.timer != nil {
		return
	}
	c.tick()
}

func (c *Controller) tick() {
	c.gc()
	c.timer = c.clock.After(c.opts.GCCheckPeriod, c.tick)
}

// gc is one collection, in upstream's order.
func (c *Controller) gc() {
	var pods []*corev1.Pod
	c.pods.Range(func(obj runtime.Object) bool { pods = append(pods, obj.(*corev1.Pod)); return true })
	if c.opts.TerminatedPodThreshold > 0 {
		c.gcTerminated(pods)
	}
	c.gcTerminating(pods)
	c.gcOrphaned(pods)
	c.gcUnscheduledTerminating(pods)
}

func isTerminated(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodUnknown
}

// gcTerminated deletes the terminated pods beyond the threshold, evicted first, then
// oldest first, then by name.
func (c *Controller) gcTerminated(pods []*corev1.Pod) {
	var terminated []*corev1.Pod
	for _, p := range pods {
		if isTerminated(p) {
			terminated = append(terminated, p)
		}
	}
	n := len(terminated) - c.opts.TerminatedPodThreshold
	if n <= 0 {
		return
	}
	sortByEvictionAndCreation(terminated)
	for _, p := range terminated[:n] {
		c.markFailedAndDelete(p, nil, "TerminatedPodGC", fmt.Sprintf("Deleted terminated pod %s/%s (%d terminated pods over the threshold of %d)", p.Namespace, p.Name, len(terminated), c.opts.TerminatedPodThreshold))
	}
}

func sortByEvictionAndCreation(pods []*corev1.Pod) {
	evicted := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == evictedReason
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if evicted(a) != evicted(b) {
			return evicted(a)
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// gcTerminating force-deletes terminating pods on NotReady nodes with the out-of-service
// taint (non-graceful node shutdown).
func (c *Controller) gcTerminating(pods []*corev1.Pod) {
	var victims []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			continue
		}
		obj, ok := c.nodes.Get("", p.Spec.NodeName)
		if !ok {
			continue
		}
		if n := obj.(*corev1.Node); !nodeReady(n) && hasTaintKey(n, corev1.TaintNodeOutOfService) {
			victims = append(victims, p)
		}
	}
	sortByEvictionAndCreation(victims)
	for _, p := range victims {
		c.markFailedAndDelete(p, nil, "TerminatingOutOfServicePodGC", fmt.Sprintf("Force deleted terminating pod %s/%s on out-of-service node %s", p.Namespace, p.Name, p.Spec.NodeName))
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaintKey(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// gcOrphaned quarantines nodes that pods are bound to but the informer lacks, and deletes
// the pods of those whose quarantine is over and which a live GET confirms gone.
func (c *Controller) gcOrphaned(pods []*corev1.Pod) {
	now := c.clock.Now()
	for _, p := range pods {
		if name := p.Spec.NodeName; name != "" {
			if _, ok := c.nodes.Get("", name); !ok {
				if _, waiting := c.quarantine[name]; !waiting {
					c.quarantine[name] = now.Add(c.opts.QuarantineTime)
				}
			}
		}
	}
	var due []string
	for name, at := range c.quarantine {
		if !at.After(now) {
			due = append(due, name)
		}
	}
	sort.Strings(due)
	deleted := map[string]bool{}
	for _, name := range due {
		delete(c.quarantine, name)
		if _, ok := c.nodes.Get("", name); ok {
			continue
		}
		_, err := c.client.Get("nodes", "", name)
		if apierrors.IsNotFound(err) {
			deleted[name] = true
		}
		// Another error: the node is quarantined again if pods still name it.
	}
	if len(deleted) == 0 {
		return
	}
	for _, p := range pods {
		if !deleted[p.Spec.NodeName] {
			continue
		}
		cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonDeletionByPodGC, Message: MessageNodeGone}
		c.markFailedAndDelete(p, cond, "OrphanedPodGC", fmt.Sprintf("Forced deletion of orphaned pod %s/%s: node %s no longer exists", p.Namespace, p.Name, p.Spec.NodeName))
	}
}

// gcUnscheduledTerminating deletes terminating pods that were never scheduled.
func (c *Controller) gcUnscheduledTerminating(pods []*corev1.Pod) {
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName != "" {
			continue
		}
		c.markFailedAndDelete(p, nil, "UnscheduledTerminatingPodGC", fmt.Sprintf("Forced deletion of unscheduled terminating pod %s/%s", p.Namespace, p.Name))
	}
}

// markFailedAndDelete patches a pod that is not terminal to Failed (with cond, if any)
// and deletes it with grace period 0. Failures are left to the next run, as upstream.
func (c *Controller) markFailedAndDelete(p *corev1.Pod, cond *corev1.PodCondition, reason, msg string) {
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		next := p.Status.DeepCopy()
		next.Phase = corev1.PodFailed
		if cond != nil {
			setCondition(next, *cond, metav1.NewTime(c.clock.Now()))
		}
		if err := c.patchStatus(p, next); err != nil {
			return
		}
	}
	zero := int64(0)
	if _, err := c.client.Delete("pods", p.Namespace, p.Name, apiserver.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		return
	}
	c.log.Action(c.identity, reason, "pods", p.Namespace, p.Name, msg)
}

// patchStatus sends the two-way strategic merge patch from the pod's status to next, as
// upstream's PatchPodStatus, so that it applies to the latest pod, not the cached one.
func (c *Controller) patchStatus(p *corev1.Pod, next *corev1.PodStatus) error {
	oldJSON, err := json.Marshal(corev1.Pod{Status: p.Status})
	if err != nil {
		return err
	}
	newJSON, err := json.Marshal(corev1.Pod{Status: *next})
	if err != nil {
		return err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, corev1.Pod{})
	if err != nil {
		return fmt.Errorf("pod status patch: %w", err)
	}
	_, err = c.client.Patch("pods", p.Namespace, p.Name, types.StrategicMergePatchType, patch, "status")
	return err
}

// setCondition adds or replaces a condition as upstream's UpdatePodCondition: the
// transition time is now unless the status stays the same.
func setCondition(st *corev1.PodStatus, cond corev1.PodCondition, now metav1.Time) {
	cond.LastTransitionTime = now
	for i := range st.Conditions {
		if st.Conditions[i].Type == cond.Type {
			if st.Conditions[i].Status == cond.Status {
				cond.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = cond
			return
		}
	}
	st.Conditions = append(st.Conditions, cond)
}
