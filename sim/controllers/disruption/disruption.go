// Package disruption is the disruption controller: it keeps the status of every
// PodDisruptionBudget (policy/v1) in step with the pods it selects — how many are healthy,
// how many must be, how many pods are expected, how many disruptions the budget allows now,
// the evictions approved but not yet seen — which the Eviction API reads and spends. It also
// resets DisruptionTarget conditions of pods that were never deleted after 2 minutes.
package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Timings of the controller, as upstream's.
const (
	// DeletionTimeout is how long an eviction approved in status.disruptedPods is waited for:
	// a pod not being deleted by then is counted as healthy again.
	DeletionTimeout = 2 * time.Minute
	// StalePodDisruptionTimeout is how long a pod may carry a True DisruptionTarget condition
	// without being deleted before the controller sets it to False.
	StalePodDisruptionTimeout = 2 * time.Minute
	// RecheckDelay is the rate limiter's first delay, added to a recheck when it is queued
	// again (upstream's recheck goes through AddRateLimited).
	RecheckDelay = controllers.RetryBaseDelay
	// EventSource is the component upstream's disruption controller records events as.
	EventSource = "controllermanager"
)

// IndexNamespace is the index by namespace the controller registers on the pods and
// budgets informers (the controllers package's shared one).
const IndexNamespace = controllers.IndexNamespace

// NamespaceIndex indexes objects by namespace.
var NamespaceIndex = controllers.NamespaceIndex

// Options override the controller's timings and give it the workload informers Orrery
// does not always serve.
type Options struct {
	// DeletionTimeout overrides DeletionTimeout when positive.
	DeletionTimeout time.Duration
	// StalePodDisruptionTimeout overrides StalePodDisruptionTimeout when positive.
	StalePodDisruptionTimeout time.Duration
	// StatefulSets and ReplicationControllers are informers of those workloads, nil when
	// the cluster does not serve them.
	StatefulSets, ReplicationControllers *informer.Informer
}

// Controller is the disruption controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	recorder *events.Recorder
	pdbs     *informer.Informer
	pods     *informer.Informer
	rss      *informer.Informer
	deploys  *informer.Informer
	sets     *informer.Informer
	rcs      *informer.Informer
	queue    *controllers.Queue
	stale    *controllers.Queue
	timeout  time.Duration
	staleFor time.Duration
	identity string
}

// New returns the controller, writing through client as the controller manager. It
// registers IndexNamespace on pdbs and pods, so it must be called before they start.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, pdbs, pods, rss, deploys *informer.Informer, opts Options) *Controller {
	c := &Controller{
		clock: clock, log: log, client: client, recorder: events.New(clock, client, EventSource, ""),
		pdbs: pdbs, pods: pods, rss: rss, deploys: deploys, sets: opts.StatefulSets, rcs: opts.ReplicationControllers,
		timeout: DeletionTimeout, staleFor: StalePodDisruptionTimeout, identity: apiserver.ControllerManagerUser,
	}
	if opts.DeletionTimeout > 0 {
		c.timeout = opts.DeletionTimeout
	}
	if opts.StalePodDisruptionTimeout > 0 {
		c.staleFor = opts.StalePodDisruptionTimeout
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	c.stale = controllers.NewQueue(clock, c.syncStalePodDisruption)
	pdbs.AddIndex(IndexNamespace, NamespaceIndex)
	pods.AddIndex(IndexNamespace, NamespaceIndex)
	enqueue := func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) }
	pdbs.AddHandler(informer.Handler{
		OnAdd:    enqueue,
		OnUpdate: func(_, obj runtime.Object) { enqueue(obj) },
		OnDelete: enqueue,
	})
	pods.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.podChanged(obj.(*corev1.Pod)) },
		OnUpdate: func(_, obj runtime.Object) { c.podChanged(obj.(*corev1.Pod)) },
		OnDelete: func(obj runtime.Object) {
			if pdb := c.pdbForPod(obj.(*corev1.Pod)); pdb != nil {
				enqueue(pdb)
			}
		},
	})
	return c
}

func (c *Controller) podChanged(pod *corev1.Pod) {
	if pdb := c.pdbForPod(pod); pdb != nil {
		c.queue.Add(informer.Key(pdb))
	}
	if stale, after := c.staleDisruptionCondition(pod); stale {
		c.stale.AddAfter(informer.Key(pod), after)
	}
}

// pdbsForPod returns the budgets whose selector matches the pod, in name order.
func (c *Controller) pdbsForPod(pod *corev1.Pod) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, obj := range c.pdbs.ByIndex(IndexNamespace, pod.Namespace) {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out
}

// pdbForPod returns the first budget of the pod, warning about a pod with several.
func (c *Controller) pdbForPod(pod *corev1.Pod) *policyv1.PodDisruptionBudget {
	pdbs := c.pdbsForPod(pod)
	if len(pdbs) == 0 {
		return nil
	}
	if len(pdbs) > 1 {
		msg := fmt.Sprintf("Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.", pod.Namespace, pod.Name, pdbs[0].Name)
		_ = c.recorder.Event(pod, corev1.EventTypeWarning, "MultiplePodDisruptionBudgets", msg)
	}
	return pdbs[0]
}

// podsForPdb returns the pods the budget selects, in name order (ByIndex is in key order).
func (c *Controller) podsForPdb(pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for _, obj := range c.pods.ByIndex(IndexNamespace, pdb.Namespace) {
		if p := obj.(*corev1.Pod); sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}
