// Package deployment is the Deployment controller: it keeps one ReplicaSet per pod
// template revision and moves replicas from the old ReplicaSets to the new one, by
// RollingUpdate (within maxSurge and maxUnavailable) or Recreate; it numbers revisions,
// prunes old ReplicaSets beyond revisionHistoryLimit, rolls back, honours pause, scales
// proportionally during a rollout, and reports the Deployment's replicas and its Available
// and Progressing conditions (with progressDeadlineSeconds), as upstream's
// pkg/controller/deployment does.
package deployment

import (
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

// Annotations, as upstream names them.
const (
	// RevisionAnnotation is the revision of a ReplicaSet, and of its Deployment's newest.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the former revisions of a reused ReplicaSet.
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the Deployment's replicas when it last scaled a ReplicaSet.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation is the Deployment's replicas + maxSurge when it last scaled a
	// ReplicaSet: the base of proportional scaling.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
)

// Condition and event reasons, as upstream's.
const (
	ReasonNewRSCreated         = "NewReplicaSetCreated"
	ReasonFoundNewRS           = "FoundNewReplicaSet"
	ReasonRSUpdated            = "ReplicaSetUpdated"
	ReasonNewRSAvailable       = "NewReplicaSetAvailable"
	ReasonTimedOut             = "ProgressDeadlineExceeded"
	ReasonPaused               = "DeploymentPaused"
	ReasonResumed              = "DeploymentResumed"
	ReasonFailedRSCreate       = "ReplicaSetCreateError"
	ReasonMinimumAvailable     = "MinimumReplicasAvailable"
	ReasonMinimumUnavailable   = "MinimumReplicasUnavailable"
	ReasonScaling              = "ScalingReplicaSet"
	ReasonSelectingAll         = "SelectingAll"
	ReasonRollbackDone         = "DeploymentRollback"
	ReasonRollbackNotFound     = "DeploymentRollbackRevisionNotFound"
	ReasonRollbackSameTemplate = "DeploymentRollbackTemplateUnchanged"
	messageMinimumAvailable    = "Deployment has minimum availability."
	messageMinimumUnavailable  = "Deployment does not have minimum availability."
	messagePaused              = "Deployment is paused"
	messageResumed             = "Deployment is resumed"
	defaultRollingPercent      = "25%"
	// unlimited (MaxInt32) as progressDeadlineSeconds or revisionHistoryLimit means none.
	unlimited = int32(math.MaxInt32)
)

// Upstream's fixed figures.
const (
	// EventSource is the component upstream's Deployment controller records events as.
	EventSource = "deployment-controller"
	// MaxRevisionHistoryChars bounds the revision-history annotation, as upstream's
	// maxRevHistoryLengthInChars.
	MaxRevisionHistoryChars = 2000
	// ProgressCheckSkew is added to the requeue of a Deployment that may miss its progress
	// deadline, as upstream adds a second "to avoid milliseconds skew"; ProgressDeadlineExceeded
	// is therefore reported within a second after the deadline (the first requeue armed from
	// the condition's update time + progressDeadlineSeconds + this skew).
	ProgressCheckSkew = time.Second
)

// Options tune the controller; the zero value is upstream's behaviour.
type Options struct {
	// TerminatingReplicas reports status.terminatingReplicas, as the
	// DeploymentReplicaSetTerminatingReplicas feature gate does (alpha, off in 1.34).
	TerminatingReplicas bool
}

// Controller is the Deployment controller.
type Controller struct {
	clock       loop.Clock
	log         *eventlog.Log
	client      *apiserver.Client
	recorder    *events.Recorder
	deploys     *informer.Informer
	rss         *informer.Informer
	pods        *informer.Informer
	queue       *controllers.Queue
	identity    string
	terminating bool
}

// New returns the controller with upstream's options, writing through client as the
// controller manager. rss and pods must carry the controllers.IndexOwner index.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, deploys, rss, pods *informer.Informer) *Controller {
	return NewWithOptions(clock, log, client, deploys, rss, pods, Options{})
}

// NewWithOptions returns the controller with opts; see New for the informers it needs.
func NewWithOptions(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, deploys, rss, pods *informer.Informer, opts Options) *Controller {
	c := &Controller{
		clock: clock, log: log, client: client, recorder: events.New(clock, client, EventSource, ""),
		deploys: deploys, rss: rss, pods: pods, identity: apiserver.ControllerManagerUser,
		terminating: opts.TerminatingReplicas,
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	enqueue := func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) }
	deploys.AddHandler(informer.Handler{OnAdd: enqueue, OnUpdate: func(_, obj runtime.Object) { enqueue(obj) }})
	rss.AddHandler(informer.Handler{
		OnAdd:    c.enqueueOwner,
		OnUpdate: func(_, obj runtime.Object) { c.enqueueOwner(obj) },
		OnDelete: c.enqueueOwner,
	})
	// Pod deletions wake a Recreate rollout waiting for the old pods to be gone.
	pods.AddHandler(informer.Handler{OnDelete: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "ReplicaSet" {
			if rs, ok := rss.Get(pod.Namespace, ref.Name); ok {
				c.enqueueOwner(rs)
			}
		}
	}})
	return c
}

// enqueueOwner queues the Deployment controlling a ReplicaSet.
func (c *Controller) enqueueOwner(obj runtime.Object) {
	rs := obj.(*appsv1.ReplicaSet)
	if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
		c.queue.Add(rs.Namespace + "/" + ref.Name)
	}
}

// event records a core/v1 Event about the Deployment and logs it as an action.
func (c *Controller) event(d *appsv1.Deployment, eventType, reason, msg string) {
	_ = c.recorder.Event(d, eventType, reason, msg) // upstream drops failed events too
	c.log.Action(c.identity, reason, "deployments", d.Namespace, d.Name, msg)
}

// sync reconciles one Deployment, in upstream's order: status only while it is deleted,
// the paused condition, scaling only while paused, a rollback asked for by annotation,
// proportional scaling when its replicas changed, else a rollout step.
func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.deploys.Get(ns, name)
	if !ok {
		return nil
	}
	d := obj.(*appsv1.Deployment).DeepCopy()
	if d.Spec.Selector == nil || equality.Semantic.DeepEqual(d.Spec.Selector, &metav1.LabelSelector{}) {
		c.event(d, corev1.EventTypeWarning, ReasonSelectingAll, "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return c.writeStatus(d)
		}
		return nil
	}
	rsList := c.replicaSetsOf(d)
	if d.DeletionTimestamp != nil {
		return c.syncStatusOnly(d, rsList)
	}
	if err := c.checkPausedConditions(d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return c.syncScale(d, rsList)
	}
	if getRollbackTo(d) != nil {
		return c.rollback(d, rsList)
	}
	scaling, err := c.isScalingEvent(d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.syncScale(d, rsList)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return c.rolloutRecreate(d, rsList)
	}
	return c.rolloutRolling(d, rsList)
}

// replicaSetsOf returns private copies of the ReplicaSets the Deployment controls, oldest
// first; the sync updates them in place after each write.
func (c *Controller) replicaSetsOf(d *appsv1.Deployment) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, o := range c.rss.ByIndex(controllers.IndexOwner, string(d.UID)) {
		out = append(out, o.(*appsv1.ReplicaSet).DeepCopy())
	}
	byCreation(out)
	return out
}

// writeStatus writes d's status and keeps d's resourceVersion current.
func (c *Controller) writeStatus(d *appsv1.Deployment) error {
	out, err := c.client.UpdateStatus(d)
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ResourceVersion = out.(*appsv1.Deployment).ResourceVersion
	return nil
}

// writeMeta writes d's metadata (the API server keeps annotations out of status updates)
// and keeps d's resourceVersion current.
func (c *Controller) writeMeta(d *appsv1.Deployment) error {
	out, err := c.client.Update(d)
	if err != nil {
		return fmt.Errorf("update deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ResourceVersion = out.(*appsv1.Deployment).ResourceVersion
	return nil
}

// writeRS writes a ReplicaSet and replaces the caller's copy with the stored one.
func (c *Controller) writeRS(rs, next *appsv1.ReplicaSet) error {
	out, err := c.client.Update(next)
	if err != nil {
		return fmt.Errorf("update replica set %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	*rs = *out.(*appsv1.ReplicaSet)
	return nil
}
