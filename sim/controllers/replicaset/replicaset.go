// Package replicaset is the ReplicaSet controller: it keeps the number of active pods owned
// by each ReplicaSet equal to spec.replicas, creating pods from the template or deleting
// the least valuable ones, and reports the counts in the ReplicaSet's status.
package replicaset

import (
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Controller limits, as upstream's.
const (
	// BurstReplicas is how many pods one sync creates or deletes at most.
	BurstReplicas = 500
)

// Controller is the ReplicaSet controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	rss      *informer.Informer
	pods     *informer.Informer
	queue    *controllers.Queue
	expect   *controllers.Expectations
	identity string
}

// New returns the controller, writing through client as the controller manager. It adds
// the controllers.IndexNamespace index to rss and pods, so call it before they start; pods
// must also carry controllers.IndexOwner.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, rss, pods *informer.Informer) *Controller {
	c := &Controller{clock: clock, log: log, client: client, rss: rss, pods: pods, expect: controllers.NewExpectations(clock, 0), identity: apiserver.ControllerManagerUser}
	c.queue = controllers.NewQueue(clock, c.sync)
	rss.AddIndex(controllers.IndexNamespace, controllers.NamespaceIndex)
	pods.AddIndex(controllers.IndexNamespace, controllers.NamespaceIndex)
	rss.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnUpdate: func(_, obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnDelete: func(obj runtime.Object) { c.expect.Delete(informer.Key(obj)) },
	})
	pods.AddHandler(informer.Handler{
		OnAdd: func(obj runtime.Object) {
			for _, key := range c.matchingReplicaSets(obj) {
				c.queue.Add(key)
			}
			if key := c.ownerKey(obj); key != "" {
				c.expect.CreationObserved(key)
				c.queue.Add(key)
			}
		},
		OnUpdate: func(old, obj runtime.Object) {
			for _, key := range c.matchingReplicaSets(obj) {
				c.queue.Add(key)
			}
			if key := c.ownerKey(obj); key != "" {
				if old.(*corev1.Pod).DeletionTimestamp == nil && obj.(*corev1.Pod).DeletionTimestamp != nil {
					c.expect.DeletionObserved(key)
				}
				c.queue.Add(key)
			}
		},
		OnDelete: func(obj runtime.Object) {
			if key := c.ownerKey(obj); key != "" {
				if obj.(*corev1.Pod).DeletionTimestamp == nil {
					c.expect.DeletionObserved(key)
				}
				c.queue.Add(key)
			}
		},
	})
	return c
}

// ownerKey returns the key of the ReplicaSet controlling a pod, if it is one we know.
func (c *Controller) ownerKey(obj runtime.Object) string {
	pod := obj.(*corev1.Pod)
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return ""
	}
	rs, ok := c.rss.Get(pod.Namespace, ref.Name)
	if !ok || rs.(*appsv1.ReplicaSet).UID != ref.UID {
		return ""
	}
	return pod.Namespace + "/" + ref.Name
}

func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.rss.Get(ns, name)
	if !ok {
		return nil
	}
	rs := obj.(*appsv1.ReplicaSet)
	owned, err := c.claimPods(rs)
	if err != nil {
		return err
	}
	var active []*corev1.Pod
	for _, p := range owned {
		if controllers.IsPodActive(p) {
			active = append(active, p)
		}
	}
	if c.expect.Satisfied(key) && rs.DeletionTimestamp == nil {
		err = c.manage(key, rs, active)
	}
	if serr := c.updateStatus(rs, active); serr != nil && err == nil {
		err = serr
	}
	return err
}

func (c *Controller) manage(key string, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	want := int32(1)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	diff := len(active) - int(want)
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		c.expect.Expect(key, n, 0)
		for i := 0; i < n; i++ {
			pod := podFromTemplate(rs)
			created, err := c.client.Create(pod)
			if err != nil {
				c.expect.Lower(key, n-i, 0) // this create and the ones not attempted
				c.log.Action(c.identity, "FailedCreate", "replicasets", rs.Namespace, rs.Name, fmt.Sprintf("Error creating: %v", err))
				return err
			}
			c.log.Action(c.identity, "SuccessfulCreate", "replicasets", rs.Namespace, rs.Name, "Created pod: "+created.(*corev1.Pod).Name)
		}
	case diff > 0:
		n := min(diff, BurstReplicas)
		victims := rankForDeletion(active)[:n]
		c.expect.Expect(key, 0, n)
		for i, p := range victims {
			if _, err := c.client.Delete("pods", p.Namespace, p.Name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				c.expect.Lower(key, 0, n-i)
				return err
			}
			c.log.Action(c.identity, "SuccessfulDelete", "replicasets", rs.Namespace, rs.Name, "Deleted pod: "+p.Name)
		}
	}
	return nil
}

// podFromTemplate builds a new pod for the ReplicaSet, owned by it.
func podFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       rs.Namespace,
			GenerateName:    rs.Name + "-",
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
		},
		Spec: t.Spec,
	}
}

// rankForDeletion orders pods most-deletable first, as upstream's ActivePods ranking does:
// unassigned before assigned, pending before unknown before running, not ready before
// ready, then the more recently ready, then more restarts, then newer.
func rankForDeletion(pods []*corev1.Pod) []*corev1.Pod {
	phase := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	out := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName == ""
		}
		if phase[a.Status.Phase] != phase[b.Status.Phase] {
			return phase[a.Status.Phase] < phase[b.Status.Phase]
		}
		if ra, rb := controllers.IsPodReady(a), controllers.IsPodReady(b); ra != rb {
			return !ra
		}
		if ra, rb := restarts(a), restarts(b); ra != rb {
			return ra > rb
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return b.CreationTimestamp.Before(&a.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return out
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

func (c *Controller) updateStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	st := appsv1.ReplicaSetStatus{ObservedGeneration: rs.Generation, Conditions: rs.Status.Conditions}
	now := c.clock.Now()
	var nextAvailable time.Duration
	for _, p := range active {
		st.Replicas++
		if labelsMatch(rs, p) {
			st.FullyLabeledReplicas++
		}
		if controllers.IsPodReady(p) {
			st.ReadyReplicas++
			if controllers.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			} else if d := readySince(p).Add(time.Duration(rs.Spec.MinReadySeconds) * time.Second).Sub(now); nextAvailable == 0 || d < nextAvailable {
				nextAvailable = d
			}
		}
	}
	if nextAvailable > 0 {
		c.queue.AddAfter(informer.Key(rs), nextAvailable)
	}
	if equality.Semantic.DeepEqual(st, rs.Status) {
		return nil
	}
	next := rs.DeepCopy()
	next.Status = st
	_, err := c.client.UpdateStatus(next)
	return err
}

func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func labelsMatch(rs *appsv1.ReplicaSet, p *corev1.Pod) bool {
	for k, v := range rs.Spec.Template.Labels {
		if p.Labels[k] != v {
			return false
		}
	}
	return true
}
