// Package deployment is the Deployment controller: it keeps one ReplicaSet per pod
// template revision and moves replicas from the old ReplicaSets to the new one, by
// RollingUpdate (within maxSurge and maxUnavailable) or Recreate, and reports the
// Deployment's replicas and its Available and Progressing conditions.
package deployment

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Annotations and condition reasons, as upstream names them.
const (
	RevisionAnnotation = "deployment.kubernetes.io/revision"

	ReasonNewRSCreated        = "NewReplicaSetCreated"
	ReasonRSUpdated           = "ReplicaSetUpdated"
	ReasonNewRSAvailable      = "NewReplicaSetAvailable"
	ReasonMinimumAvailable    = "MinimumReplicasAvailable"
	ReasonMinimumUnavailable  = "MinimumReplicasUnavailable"
	messageMinimumAvailable   = "Deployment has minimum availability."
	messageMinimumUnavailable = "Deployment does not have minimum availability."
)

// Controller is the Deployment controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	deploys  *informer.Informer
	rss      *informer.Informer
	pods     *informer.Informer
	queue    *controllers.Queue
	identity string
}

// New returns the controller, writing through client as the controller manager. rss and
// pods must have the controllers.IndexOwner index; pods let Recreate wait for old pods.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, deploys, rss, pods *informer.Informer) *Controller {
	c := &Controller{clock: clock, log: log, client: client, deploys: deploys, rss: rss, pods: pods, identity: apiserver.ControllerManagerUser}
	c.queue = controllers.NewQueue(clock, c.sync)
	deploys.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnUpdate: func(_, obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
	})
	enqueueOwner := func(obj runtime.Object) {
		rs := obj.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
			c.queue.Add(rs.Namespace + "/" + ref.Name)
		}
	}
	rss.AddHandler(informer.Handler{OnAdd: enqueueOwner, OnUpdate: func(_, obj runtime.Object) { enqueueOwner(obj) }, OnDelete: enqueueOwner})
	// A Recreate rollout waits for the old pods to be gone: their deletion is its signal.
	pods.AddHandler(informer.Handler{OnDelete: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "ReplicaSet" {
			if rs, ok := rss.Get(pod.Namespace, ref.Name); ok {
				enqueueOwner(rs)
			}
		}
	}})
	return c
}

func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.deploys.Get(ns, name)
	if !ok {
		return nil
	}
	d := obj.(*appsv1.Deployment)
	if d.DeletionTimestamp != nil {
		return nil
	}
	var newRS *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	for _, o := range c.rss.ByIndex(controllers.IndexOwner, string(d.UID)) {
		rs := o.(*appsv1.ReplicaSet)
		if newRS == nil && templatesEqual(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
		} else {
			old = append(old, rs)
		}
	}
	sort.SliceStable(old, func(i, j int) bool { return old[i].CreationTimestamp.Before(&old[j].CreationTimestamp) })
	if d.Spec.Paused {
		return c.syncStatus(d, newRS, old, "")
	}
	created := ""
	if newRS == nil {
		var err error
		if newRS, err = c.createNewRS(d, old); err != nil {
			return err
		}
		created = newRS.Name
	}
	var err error
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		err = c.recreate(d, newRS, old)
	} else {
		err = c.rollingUpdate(d, newRS, old)
	}
	if err != nil {
		return err
	}
	return c.syncStatus(d, newRS, old, created)
}

// templatesEqual compares pod templates ignoring the pod-template-hash label.
func templatesEqual(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return equality.Semantic.DeepEqual(a, b)
}

// templateHash is the pod-template-hash of a template and collision count: FNV-32a over the
// template's canonical JSON, in Kubernetes' safe alphabet.
func templateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(t) // a PodTemplateSpec always marshals
	h.Write(b)
	if collisions != nil {
		h.Write([]byte(strconv.Itoa(int(*collisions))))
	}
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func (c *Controller) createNewRS(d *appsv1.Deployment, old []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	t := d.Spec.Template.DeepCopy()
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	revision := 0
	for _, rs := range old {
		if r, err := strconv.Atoi(rs.Annotations[RevisionAnnotation]); err == nil && r > revision {
			revision = r
		}
	}
	var start int32
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		start = newRSReplicas(d, nil, old)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       d.Namespace,
			Name:            d.Name + "-" + hash,
			Labels:          t.Labels,
			Annotations:     map[string]string{RevisionAnnotation: strconv.Itoa(revision + 1)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &start, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *t},
	}
	created, err := c.client.Create(rs)
	if apierrors.IsAlreadyExists(err) {
		// A hash collision: count it so the next hash differs, as upstream does.
		next := d.DeepCopy()
		n := int32(1)
		if next.Status.CollisionCount != nil {
			n = *next.Status.CollisionCount + 1
		}
		next.Status.CollisionCount = &n
		if _, uerr := c.client.UpdateStatus(next); uerr != nil {
			return nil, uerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	c.log.Action(c.identity, "ScalingReplicaSet", "deployments", d.Namespace, d.Name, fmt.Sprintf("Scaled up replica set %s from 0 to %d", rs.Name, start))
	return created.(*appsv1.ReplicaSet), nil
}

// surgeAndUnavailable resolves maxSurge (rounded up) and maxUnavailable (rounded down)
// against the replica count; both zero would block a rollout, so maxUnavailable becomes 1.
func surgeAndUnavailable(d *appsv1.Deployment) (int32, int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		return 0, 0
	}
	want := int(replicas(d.Spec.Replicas))
	def := intstr.FromString("25%")
	s, u := ru.MaxSurge, ru.MaxUnavailable
	if s == nil {
		s = &def
	}
	if u == nil {
		u = &def
	}
	surge, err1 := intstr.GetScaledValueFromIntOrPercent(s, want, true)
	unavail, err2 := intstr.GetScaledValueFromIntOrPercent(u, want, false)
	if err1 != nil || err2 != nil { // validation rejects such values; be safe
		surge, unavail = 0, 1
	}
	if unavail > want {
		unavail = want
	}
	if surge == 0 && unavail == 0 {
		unavail = 1
	}
	return int32(surge), int32(unavail)
}

func specReplicas(rss ...*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += replicas(rs.Spec.Replicas)
		}
	}
	return n
}

func available(rss ...*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

// newRSReplicas is how far the new ReplicaSet may scale up now: up to the replica count,
// while all ReplicaSets together stay within replicas + maxSurge.
func newRSReplicas(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) int32 {
	want := replicas(d.Spec.Replicas)
	cur := specReplicas(newRS)
	surge, _ := surgeAndUnavailable(d)
	total := specReplicas(old...) + cur
	maxTotal := want + surge
	if total >= maxTotal {
		return cur
	}
	return cur + min(maxTotal-total, want-cur)
}

func (c *Controller) scale(d *appsv1.Deployment, rs *appsv1.ReplicaSet, to int32) error {
	from := replicas(rs.Spec.Replicas)
	if from == to {
		return nil
	}
	next := rs.DeepCopy()
	next.Spec.Replicas = &to
	if _, err := c.client.Update(next); err != nil {
		return err
	}
	dir := "up"
	if to < from {
		dir = "down"
	}
	c.log.Action(c.identity, "ScalingReplicaSet", "deployments", d.Namespace, d.Name, fmt.Sprintf("Scaled %s replica set %s from %d to %d", dir, rs.Name, from, to))
	return nil
}

func (c *Controller) rollingUpdate(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	want := replicas(d.Spec.Replicas)
	// Scale the new ReplicaSet up (or down, if the Deployment was scaled down).
	target := want
	if replicas(newRS.Spec.Replicas) < want {
		target = newRSReplicas(d, newRS, old)
	}
	if err := c.scale(d, newRS, target); err != nil {
		return err
	}
	newCount := target
	// Scale old ReplicaSets down without dropping below replicas - maxUnavailable.
	_, maxUnavailable := surgeAndUnavailable(d)
	minAvailable := want - maxUnavailable
	allPods := specReplicas(old...) + newCount
	newUnavailable := newCount - newRS.Status.AvailableReplicas
	maxScaledDown := allPods - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return nil
	}
	// First the old pods that are not available anyway.
	for _, rs := range old {
		if maxScaledDown <= 0 {
			break
		}
		n := replicas(rs.Spec.Replicas)
		unhealthy := n - rs.Status.AvailableReplicas
		if n == 0 || unhealthy <= 0 {
			continue
		}
		down := min(unhealthy, maxScaledDown)
		if err := c.scale(d, rs, n-down); err != nil {
			return err
		}
		maxScaledDown -= down
		rs.Spec.Replicas = ptr(n - down) // rs is our private view from here on
	}
	// Then available old pods, while enough stay available.
	avail := available(old...) + newRS.Status.AvailableReplicas
	if avail <= minAvailable {
		return nil
	}
	budget := avail - minAvailable
	for _, rs := range old {
		if budget <= 0 {
			break
		}
		n := replicas(rs.Spec.Replicas)
		if n == 0 {
			continue
		}
		down := min(n, budget)
		if err := c.scale(d, rs, n-down); err != nil {
			return err
		}
		budget -= down
	}
	return nil
}

func ptr(n int32) *int32 { return &n }

// recreate scales the old ReplicaSets to zero and starts the new one only when no old pod
// is left that has not finished — terminating pods included, as upstream's
// oldPodsRunning counts them.
func (c *Controller) recreate(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	running := false
	for _, rs := range old {
		if err := c.scale(d, rs, 0); err != nil {
			return err
		}
		for _, o := range c.pods.ByIndex(controllers.IndexOwner, string(rs.UID)) {
			if p := o.(*corev1.Pod); p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				running = true
			}
		}
	}
	if running {
		return nil // wait until the old pods are gone
	}
	return c.scale(d, newRS, replicas(d.Spec.Replicas))
}

func (c *Controller) syncStatus(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, created string) error {
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, CollisionCount: d.Status.CollisionCount, Conditions: append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...)}
	for _, rs := range all {
		if rs == nil {
			continue
		}
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	want := replicas(d.Spec.Replicas)
	st.UnavailableReplicas = max(want-st.AvailableReplicas, 0)
	_, maxUnavailable := surgeAndUnavailable(d)
	now := metav1.NewTime(c.clock.Now())
	if st.AvailableReplicas >= want-maxUnavailable {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, messageMinimumAvailable, now)
	} else {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumUnavailable, messageMinimumUnavailable, now)
	}
	switch {
	case created != "":
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, fmt.Sprintf("Created new replica set %q", created), now)
	case newRS != nil && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want:
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name), now)
	case newRS != nil:
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name), now)
	}
	if equality.Semantic.DeepEqual(st, d.Status) {
		return nil
	}
	next := d.DeepCopy()
	next.Status = st
	_, err := c.client.UpdateStatus(next)
	return err
}

// setCondition sets a condition, keeping its transition time when the status is unchanged
// and its update time when nothing changed at all.
func setCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now metav1.Time) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status == status && c.Reason == reason && c.Message == msg {
			return
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message, c.LastUpdateTime = status, reason, msg, now
		return
	}
	st.Conditions = append(st.Conditions, appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now})
}
