// Package tainteviction is the taint eviction controller: pods on a node with a NoExecute
// taint they do not tolerate are deleted at once; pods that tolerate it for
// tolerationSeconds are deleted when that time has passed since the taint was seen, unless
// the taint goes away first.
package tainteviction

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// IndexNodeName is the pod index by spec.nodeName the controller needs.
const IndexNodeName = "nodeName"

// NodeNameIndex indexes pods by the node they are bound to.
func NodeNameIndex(obj runtime.Object) []string {
	if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
		return []string{p.Spec.NodeName}
	}
	return nil
}

// The DisruptionTarget condition the controller sets before deleting, as upstream's.
const (
	ReasonDeletionByTaintManager = "DeletionByTaintManager"
	messageDisruption            = "Taint manager: deleting due to NoExecute taint"
)

type scheduled struct {
	created time.Time
	trigger time.Time
	timer   *loop.Timer
}

// Controller is the taint eviction controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	pods     *informer.Informer
	nodes    *informer.Informer
	work     map[string]*scheduled
	identity string
}

// New returns the controller; pods must have the IndexNodeName index.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, pods, nodes *informer.Informer) *Controller {
	c := &Controller{clock: clock, log: log, client: client, pods: pods, nodes: nodes, work: map[string]*scheduled{}, identity: apiserver.ControllerManagerUser}
	pods.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.podChanged(obj.(*corev1.Pod)) },
		OnUpdate: func(_, obj runtime.Object) { c.podChanged(obj.(*corev1.Pod)) },
		OnDelete: func(obj runtime.Object) { c.cancel(informer.Key(obj)) },
	})
	nodes.AddHandler(informer.Handler{
		OnAdd: func(obj runtime.Object) { c.nodeChanged(nil, obj.(*corev1.Node)) },
		OnUpdate: func(old, obj runtime.Object) {
			c.nodeChanged(old.(*corev1.Node), obj.(*corev1.Node))
		},
	})
	return c
}

func noExecuteTaints(n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	if n == nil {
		return nil
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

func (c *Controller) nodeChanged(old, node *corev1.Node) {
	if old != nil && equality.Semantic.DeepEqual(noExecuteTaints(old), noExecuteTaints(node)) {
		return
	}
	taints := noExecuteTaints(node)
	for _, obj := range c.pods.ByIndex(IndexNodeName, node.Name) {
		c.process(obj.(*corev1.Pod), taints)
	}
}

func (c *Controller) podChanged(pod *corev1.Pod) {
	if pod.Spec.NodeName == "" {
		return
	}
	obj, ok := c.nodes.Get("", pod.Spec.NodeName)
	if !ok {
		return
	}
	c.process(pod, noExecuteTaints(obj.(*corev1.Node)))
}

// process schedules, keeps or cancels the eviction of one pod given its node's taints.
func (c *Controller) process(pod *corev1.Pod, taints []corev1.Taint) {
	key := informer.Key(pod)
	if len(taints) == 0 || pod.DeletionTimestamp != nil {
		c.cancel(key)
		return
	}
	now := c.clock.Now()
	// The tolerations that match some taint, and whether every taint is tolerated.
	minWait := time.Duration(-1) // negative: tolerated for ever
	for i := range taints {
		t := &taints[i]
		tolerated := false
		for _, tol := range pod.Spec.Tolerations {
			if !tol.ToleratesTaint(t) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				continue
			}
			d := time.Duration(*tol.TolerationSeconds) * time.Second
			if d < 0 {
				d = 0
			}
			if minWait < 0 || d < minWait {
				minWait = d
			}
		}
		if !tolerated {
			minWait = 0
			break
		}
	}
	if minWait < 0 {
		c.cancel(key)
		return
	}
	start := now
	if w := c.work[key]; w != nil {
		start = w.created
		if start.Add(minWait).Equal(w.trigger) {
			return // already scheduled for the same time
		}
		w.timer.Stop()
	}
	trigger := start.Add(minWait)
	w := &scheduled{created: start, trigger: trigger}
	ns, name := pod.Namespace, pod.Name
	w.timer = c.clock.At(trigger, func() {
		delete(c.work, key)
		c.evict(ns, name)
	})
	c.work[key] = w
}

func (c *Controller) cancel(key string) {
	if w := c.work[key]; w != nil {
		w.timer.Stop()
		delete(c.work, key)
	}
}

// evict marks the pod with the DisruptionTarget condition and deletes it.
func (c *Controller) evict(ns, name string) {
	obj, ok := c.pods.Get(ns, name)
	if !ok || obj.(*corev1.Pod).DeletionTimestamp != nil {
		return
	}
	pod := obj.(*corev1.Pod).DeepCopy()
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonDeletionByTaintManager,
		Message: messageDisruption, LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	if _, err := c.client.UpdateStatus(pod); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return
	}
	if _, err := c.client.Delete("pods", ns, name, apiserver.DeleteOptions{}); err != nil {
		return
	}
	c.log.Action(c.identity, "TaintManagerEviction", "pods", ns, name, fmt.Sprintf("Marking for deletion Pod %s/%s", ns, name))
}
