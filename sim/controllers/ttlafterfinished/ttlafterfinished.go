// Package ttlafterfinished is the TTL-after-finished controller: it deletes a Job whose
// spec.ttlSecondsAfterFinished has passed since it finished (its Complete or Failed
// condition's lastTransitionTime), re-checking the fresh Job before deleting it with a UID
// precondition and foreground propagation, as upstream's ttl-after-finished-controller does.
package ttlafterfinished

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// PropagationPolicy is how upstream's controller deletes an expired Job: in the
// foreground, so that the Job goes only after the garbage collector deleted its pods.
const PropagationPolicy = metav1.DeletePropagationForeground

// Controller is the TTL-after-finished controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	jobs     *informer.Informer
	queue    *controllers.Queue
	identity string
}

// New returns the controller; the jobs informer needs no index.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, jobs *informer.Informer) *Controller {
	c := &Controller{clock: clock, log: log, client: client, jobs: jobs, identity: apiserver.ControllerManagerUser}
	c.queue = controllers.NewQueue(clock, c.sync)
	enqueue := func(obj runtime.Object) {
		if j := obj.(*batchv1.Job); j.DeletionTimestamp == nil && needsCleanup(j) {
			c.queue.Add(informer.Key(j))
		}
	}
	jobs.AddHandler(informer.Handler{
		OnAdd:    enqueue,
		OnUpdate: func(_, obj runtime.Object) { enqueue(obj) },
	})
	return c
}

// needsCleanup reports whether the Job has a TTL and has finished.
func needsCleanup(j *batchv1.Job) bool {
	return j.Spec.TTLSecondsAfterFinished != nil && finishedAt(j) != nil
}

// finishedAt is the lastTransitionTime of the Job's Complete or Failed condition.
func finishedAt(j *batchv1.Job) *time.Time {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
			t := c.LastTransitionTime.Time
			return &t
		}
	}
	return nil
}

// expired returns when the Job's TTL expired, or nil and requeues the Job for the moment
// it will.
func (c *Controller) expired(j *batchv1.Job) *time.Time {
	if j.DeletionTimestamp != nil || !needsCleanup(j) {
		return nil
	}
	at := finishedAt(j).Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	if left := at.Sub(c.clock.Now()); left > 0 {
		c.queue.AddAfter(informer.Key(j), left)
		return nil
	}
	return &at
}

func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.jobs.Get(ns, name)
	if !ok || c.expired(obj.(*batchv1.Job)) == nil {
		return nil
	}
	// The cached TTL may be stale: decide on the fresh Job.
	fresh, err := c.client.Get("jobs", ns, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	j := fresh.(*batchv1.Job)
	at := c.expired(j)
	if at == nil {
		return nil
	}
	uid, policy := j.UID, PropagationPolicy
	opts := apiserver.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
	if _, err := c.client.Delete("jobs", ns, name, opts); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete job %s: %w", key, err)
	}
	c.log.Action(c.identity, "TTLExpired", "jobs", ns, name,
		fmt.Sprintf("Deleted Job %d s after it finished (expired %v ago)", *j.Spec.TTLSecondsAfterFinished, c.clock.Now().Sub(*at)))
	return nil
}
