// Package daemonset is the DaemonSet controller: it runs one pod of each DaemonSet on every
// eligible node (nodeSelector, required node affinity, taints against the template's and
// the default DaemonSet tolerations), creating pods pinned to their node by a
// `metadata.name` node-affinity term so that the default scheduler binds them, deleting
// those of nodes that became ineligible and those that failed (with back-off), keeping the
// template history in ControllerRevisions, rolling out template changes by RollingUpdate
// (maxUnavailable, maxSurge, minReadySeconds) or OnDelete, and reporting the counts in the
// DaemonSet's status — as upstream's pkg/controller/daemon.
package daemonset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Component is the source of the controller's Events, as upstream's.
const Component = "daemonset-controller"

// Defaults, as upstream's kube-controller-manager.
const (
	// DefaultBurstReplicas is how many pods one sync creates or deletes at most.
	DefaultBurstReplicas = 250
	// DefaultFailedPodsBackoffInitial is the first delay before a failed daemon pod on a
	// node is deleted again after the previous one.
	DefaultFailedPodsBackoffInitial = 1 * time.Second
	// DefaultFailedPodsBackoffMax caps that delay, which doubles at each failure.
	DefaultFailedPodsBackoffMax = 15 * time.Minute
	// DefaultExpectationsTimeout is how long the controller waits to observe its own
	// creates and deletes before it stops trusting its expectations.
	DefaultExpectationsTimeout = 5 * time.Minute
	// SlowStartInitialBatchSize is the first batch of creates; batches double while every
	// create succeeds, and a failed batch stops the rest.
	SlowStartInitialBatchSize = 1
	// BackoffGCInterval is how often expired back-off entries are forgotten.
	BackoffGCInterval = time.Minute
)

// Event reasons, as upstream names them.
const (
	ReasonSuccessfulCreate   = "SuccessfulCreate"
	ReasonFailedCreate       = "FailedCreate"
	ReasonSuccessfulDelete   = "SuccessfulDelete"
	ReasonFailedDelete       = "FailedDelete"
	ReasonFailedDaemonPod    = "FailedDaemonPod"
	ReasonSucceededDaemonPod = "SucceededDaemonPod"
	ReasonSelectingAll       = "SelectingAll"
)

// Label keys on daemon pods, as upstream's.
const (
	// LabelTemplateGeneration is the deprecated pod-template-generation label.
	LabelTemplateGeneration = extensionsv1beta1.DaemonSetTemplateGenerationKey
	// AnnotationTemplateGeneration is where the API server keeps a DaemonSet's template
	// generation (deprecated.daemonset.template.generation).
	AnnotationTemplateGeneration = appsv1.DeprecatedTemplateGeneration
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Options overrides the controller's defaults; zero fields take them.
type Options struct {
	// BurstReplicas bounds the creates and deletes of one sync.
	BurstReplicas int
	// FailedPodsBackoffInitial and FailedPodsBackoffMax bound the back-off of failed pods.
	FailedPodsBackoffInitial, FailedPodsBackoffMax time.Duration
	// ExpectationsTimeout bounds how long unobserved writes block a DaemonSet.
	ExpectationsTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.BurstReplicas <= 0 {
		o.BurstReplicas = DefaultBurstReplicas
	}
	if o.FailedPodsBackoffInitial <= 0 {
		o.FailedPodsBackoffInitial = DefaultFailedPodsBackoffInitial
	}
	if o.FailedPodsBackoffMax <= 0 {
		o.FailedPodsBackoffMax = DefaultFailedPodsBackoffMax
	}
	if o.ExpectationsTimeout <= 0 {
		o.ExpectationsTimeout = DefaultExpectationsTimeout
	}
	return o
}

// Controller is the DaemonSet controller.
type Controller struct {
	clock     loop.Clock
	log       *eventlog.Log
	client    *apiserver.Client
	recorder  *events.Recorder
	opts      Options
	dss       *informer.Informer
	pods      *informer.Informer
	nodes     *informer.Informer
	revisions *informer.Informer
	queue     *controllers.Queue
	expect    *controllers.Expectations
	backoff   *backoff
	lastGC    time.Time
	identity  string
}

// New returns the controller, writing through client as the controller manager. pods and
// revisions must carry the controllers.IndexOwner index (controllers.OwnerIndex); dss and
// nodes need none. opts may be omitted (upstream's defaults).
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, dss, pods, nodes, revisions *informer.Informer, opts ...Options) *Controller {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o = o.withDefaults()
	c := &Controller{
		clock: clock, log: log, client: client, opts: o,
		recorder: events.New(clock, client, Component, ""),
		dss:      dss, pods: pods, nodes: nodes, revisions: revisions,
		expect:   controllers.NewExpectations(clock, o.ExpectationsTimeout),
		backoff:  newBackoff(o.FailedPodsBackoffInitial, o.FailedPodsBackoffMax),
		lastGC:   clock.Now(),
		identity: apiserver.ControllerManagerUser,
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	dss.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnUpdate: func(_, obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnDelete: func(obj runtime.Object) { c.expect.Delete(informer.Key(obj)) },
	})
	pods.AddHandler(informer.Handler{OnAdd: c.addPod, OnUpdate: c.updatePod, OnDelete: c.deletePod})
	nodes.AddHandler(informer.Handler{OnAdd: c.addNode, OnUpdate: c.updateNode, OnDelete: c.deleteNode})
	revisions.AddHandler(informer.Handler{
		OnAdd:    c.enqueueRevisionOwner,
		OnUpdate: func(_, obj runtime.Object) { c.enqueueRevisionOwner(obj) },
		OnDelete: c.enqueueRevisionOwner,
	})
	return c
}

// owner returns the key and object of the DaemonSet controlling obj, if it is one we know.
func (c *Controller) owner(obj metav1.Object) (string, *appsv1.DaemonSet) {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != controllerKind.Kind {
		return "", nil
	}
	o, ok := c.dss.Get(obj.GetNamespace(), ref.Name)
	if !ok || o.(*appsv1.DaemonSet).UID != ref.UID {
		return "", nil
	}
	return obj.GetNamespace() + "/" + ref.Name, o.(*appsv1.DaemonSet)
}

func (c *Controller) addPod(obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	key, _ := c.owner(pod)
	if key == "" {
		return
	}
	c.expect.CreationObserved(key)
	c.queue.Add(key)
}

func (c *Controller) updatePod(oldObj, obj runtime.Object) {
	old, pod := oldObj.(*corev1.Pod), obj.(*corev1.Pod)
	key, ds := c.owner(pod)
	if key == "" {
		return
	}
	if old.DeletionTimestamp == nil && pod.DeletionTimestamp != nil {
		// A graceful delete observed: the node may get its replacement without waiting
		// for the kubelet to remove the pod.
		c.expect.DeletionObserved(key)
	}
	c.queue.Add(key)
	if !isPodReady(old) && isPodReady(pod) && ds.Spec.MinReadySeconds > 0 {
		// One second more, as upstream, against rounding at the boundary.
		c.queue.AddAfter(key, time.Duration(ds.Spec.MinReadySeconds)*time.Second+time.Second)
	}
}

func (c *Controller) deletePod(obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	key, _ := c.owner(pod)
	if key == "" {
		return
	}
	if pod.DeletionTimestamp == nil {
		c.expect.DeletionObserved(key)
	}
	c.queue.Add(key)
}

func (c *Controller) enqueueRevisionOwner(obj runtime.Object) {
	if key, _ := c.owner(obj.(*appsv1.ControllerRevision)); key != "" {
		c.queue.Add(key)
	}
}

// daemonSets returns every cached DaemonSet, in key order.
func (c *Controller) daemonSets() []*appsv1.DaemonSet {
	objs := c.dss.List()
	out := make([]*appsv1.DaemonSet, len(objs))
	for i, o := range objs {
		out[i] = o.(*appsv1.DaemonSet)
	}
	return out
}

func (c *Controller) addNode(obj runtime.Object) {
	node := obj.(*corev1.Node)
	for _, ds := range c.daemonSets() {
		if run, _ := NodeShouldRunDaemonPod(node, ds); run {
			c.queue.Add(informer.Key(ds))
		}
	}
}

func (c *Controller) updateNode(oldObj, obj runtime.Object) {
	old, node := oldObj.(*corev1.Node), obj.(*corev1.Node)
	if ignoreNodeUpdate(old, node) {
		return
	}
	for _, ds := range c.daemonSets() {
		e := newEligibility(ds)
		oldRun, oldCont := e.check(old)
		run, cont := e.check(node)
		if oldRun != run || oldCont != cont {
			c.queue.Add(informer.Key(ds))
		}
	}
}

func (c *Controller) deleteNode(obj runtime.Object) {
	node := obj.(*corev1.Node)
	for _, ds := range c.daemonSets() {
		if run, _ := NodeShouldRunDaemonPod(node, ds); run {
			c.queue.Add(informer.Key(ds))
		}
	}
}

// ignoreNodeUpdate reports whether a node update cannot change any DaemonSet's view of
// the node: nothing but the resource version, the conditions' timestamps or the rest of
// the status changed, as upstream's shouldIgnoreNodeUpdate.
func ignoreNodeUpdate(old, cur *corev1.Node) bool {
	if !sameConditions(old.Status.Conditions, cur.Status.Conditions) {
		return false
	}
	return equality.Semantic.DeepEqual(old.ObjectMeta.Labels, cur.ObjectMeta.Labels) &&
		equality.Semantic.DeepEqual(old.Spec, cur.Spec) && old.Name == cur.Name &&
		equality.Semantic.DeepEqual(old.Annotations, cur.Annotations)
}

func sameConditions(a, b []corev1.NodeCondition) bool {
	if len(a) != len(b) {
		return false
	}
	status := make(map[corev1.NodeConditionType]corev1.ConditionStatus, len(a))
	for _, c := range a {
		status[c.Type] = c.Status
	}
	for _, c := range b {
		if s, ok := status[c.Type]; !ok || s != c.Status {
			return false
		}
	}
	return true
}

func isPodReady(p *corev1.Pod) bool { return controllers.IsPodReady(p) }
