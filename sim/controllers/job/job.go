// Package job is the Job controller (batch/v1) as kube-controller-manager runs it in
// Kubernetes 1.34: it creates a Job's pods up to its parallelism and remaining completions,
// in NonIndexed or Indexed completion mode; tracks finished pods with the
// batch.kubernetes.io/job-tracking finalizer and status.uncountedTerminatedPods; recreates
// failed pods after an exponential back-off; enforces backoffLimit, backoffLimitPerIndex,
// activeDeadlineSeconds and suspend; and reports the Job's counters and conditions, the
// interim FailureTarget/SuccessCriteriaMet before the final Failed/Complete.
//
// Pods are found through the pod informer's controllers.IndexOwner index (the pods whose
// controller reference is the Job); adoption of orphans by selector is not done.
package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Upstream's Job controller constants (pkg/controller/job).
const (
	// Component is the event source the controller records events as.
	Component = "job-controller"
	// SyncJobBatchPeriod is how long a pod event or a Job status update waits before the
	// Job is synced, so that a burst of them costs one sync.
	SyncJobBatchPeriod = time.Second
	// DefaultJobPodFailureBackOff is the delay before a failed pod is replaced after one
	// failure; it doubles with each further failure since the last success.
	DefaultJobPodFailureBackOff = 10 * time.Second
	// MaxJobPodFailureBackOff caps the pod-failure back-off.
	MaxJobPodFailureBackOff = 10 * time.Minute
	// MaxUncountedPods is how many pods one sync adds to status.uncountedTerminatedPods.
	MaxUncountedPods = 500
	// MaxPodCreateDeletePerSync is how many pods one sync creates or deletes at most.
	MaxPodCreateDeletePerSync = 500
	// SlowStartInitialBatchSize is the first batch of pod creations; batches double while
	// creations succeed and stop at the first failing batch.
	SlowStartInitialBatchSize = 1
	// ManagedBy is the spec.managedBy value of Jobs this controller syncs (or none).
	ManagedBy = "kubernetes.io/job-controller"
)

// Options override the controller's timings; zero values mean upstream's.
type Options struct {
	// BatchPeriod overrides SyncJobBatchPeriod.
	BatchPeriod time.Duration
	// PodFailureBackOff overrides DefaultJobPodFailureBackOff.
	PodFailureBackOff time.Duration
	// MaxPodFailureBackOff overrides MaxJobPodFailureBackOff.
	MaxPodFailureBackOff time.Duration
}

func (o Options) withDefaults() Options {
	if o.BatchPeriod <= 0 {
		o.BatchPeriod = SyncJobBatchPeriod
	}
	if o.PodFailureBackOff <= 0 {
		o.PodFailureBackOff = DefaultJobPodFailureBackOff
	}
	if o.MaxPodFailureBackOff <= 0 {
		o.MaxPodFailureBackOff = MaxJobPodFailureBackOff
	}
	return o
}

// Controller is the Job controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	jobs     *informer.Informer
	pods     *informer.Informer
	recorder *events.Recorder
	queue    *controllers.Queue
	orphans  *controllers.Queue
	opts     Options
	identity string
	expect   *controllers.Expectations
	// rmFinalizers holds, per Job key, the pods whose tracking finalizer the controller
	// removed and has not yet seen removed.
	rmFinalizers map[string]map[types.UID]bool
	// backoff holds, per Job key, the failures since the last success.
	backoff map[string]backoffRecord
}

// New returns the controller with upstream's timings. The pods informer must carry the
// controllers.IndexOwner index; the jobs informer needs none.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, jobs, pods *informer.Informer) *Controller {
	return NewWithOptions(clock, log, client, jobs, pods, Options{})
}

// NewWithOptions returns the controller with opts overriding upstream's timings.
func NewWithOptions(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, jobs, pods *informer.Informer, opts Options) *Controller {
	c := &Controller{
		clock: clock, log: log, client: client, jobs: jobs, pods: pods,
		recorder:     events.New(clock, client, Component, ""),
		opts:         opts.withDefaults(),
		identity:     apiserver.ControllerManagerUser,
		expect:       controllers.NewExpectations(clock, 0),
		rmFinalizers: map[string]map[types.UID]bool{},
		backoff:      map[string]backoffRecord{},
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	c.orphans = controllers.NewQueue(clock, c.syncOrphanPod)
	c.addHandlers()
	return c
}

// isFinished reports whether the Job has a Complete or Failed condition that is True.
func isFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// managedByOther reports whether spec.managedBy hands the Job to another controller.
func managedByOther(j *batchv1.Job) bool {
	return j.Spec.ManagedBy != nil && *j.Spec.ManagedBy != ManagedBy
}

func (c *Controller) satisfied(key string) bool         { return c.expect.Satisfied(key) }
func (c *Controller) expectCreations(key string, n int) { c.expect.Expect(key, n, 0) }
func (c *Controller) expectDeletions(key string, n int) { c.expect.Expect(key, 0, n) }
func (c *Controller) creationObserved(key string)       { c.expect.CreationObserved(key) }
func (c *Controller) deletionObserved(key string)       { c.expect.DeletionObserved(key) }

func (c *Controller) expectFinalizersRemoved(key string, uids []types.UID) {
	set := c.rmFinalizers[key]
	if set == nil {
		set = map[types.UID]bool{}
		c.rmFinalizers[key] = set
	}
	for _, u := range uids {
		set[u] = true
	}
}

func (c *Controller) finalizerRemovalObserved(key string, uid types.UID) {
	if set := c.rmFinalizers[key]; set != nil {
		delete(set, uid)
		if len(set) == 0 {
			delete(c.rmFinalizers, key)
		}
	}
}

// expectedRemovals returns a copy of the pods whose finalizer removal is in flight.
func (c *Controller) expectedRemovals(key string) map[types.UID]bool {
	out := make(map[types.UID]bool, len(c.rmFinalizers[key]))
	for u := range c.rmFinalizers[key] {
		out[u] = true
	}
	return out
}

// enqueueBatched syncs the Job after the batch period (pod events, status updates).
func (c *Controller) enqueueBatched(key string) { c.queue.AddAfter(key, c.opts.BatchPeriod) }

// enqueueWithDelay syncs the Job after d, but no sooner than the batch period.
func (c *Controller) enqueueWithDelay(key string, d time.Duration) {
	c.queue.AddAfter(key, max(d, c.opts.BatchPeriod))
}
