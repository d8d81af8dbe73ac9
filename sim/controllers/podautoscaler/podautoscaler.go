// Package podautoscaler is the HorizontalPodAutoscaler controller (autoscaling/v2): every
// sync period it reads each HPA's scale target (a Deployment or ReplicaSet), measures the
// target's pods through a MetricsSource (the resource metrics API), computes the desired
// replica count with upstream's algorithm (usage ratio, tolerance, missing and unready
// pods), stabilizes and rate-limits it (the legacy limits, or spec.behavior), writes the
// target's spec.replicas and reports status, conditions and Events as upstream does.
package podautoscaler

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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

// Kubernetes' defaults for kube-controller-manager's HPA flags.
const (
	// DefaultSyncPeriod is --horizontal-pod-autoscaler-sync-period: every HPA is
	// reconciled this long after it was added or last reconciled.
	DefaultSyncPeriod = 15 * time.Second
	// DefaultTolerance is --horizontal-pod-autoscaler-tolerance: usage ratios within 10%
	// of 1 leave the replicas alone.
	DefaultTolerance = 0.1
	// DefaultDownscaleStabilization is --horizontal-pod-autoscaler-downscale-stabilization,
	// the scale-down window of an HPA without behavior (or whose scaleDown leaves it unset).
	DefaultDownscaleStabilization = 5 * time.Minute
	// DefaultCPUInitializationPeriod is --horizontal-pod-autoscaler-cpu-initialization-period:
	// how long after a pod starts its CPU samples need a full window of readiness.
	DefaultCPUInitializationPeriod = 5 * time.Minute
	// DefaultInitialReadinessDelay is --horizontal-pod-autoscaler-initial-readiness-delay:
	// a not-ready pod whose readiness last changed within this long of its start is unready.
	DefaultInitialReadinessDelay = 30 * time.Second
)

// Component is the HPA controller's event source, as upstream's.
const Component = "horizontal-pod-autoscaler"

// IndexNamespace is the index New adds to the pods informer: pods by namespace (the
// controllers package's shared one).
const IndexNamespace = controllers.IndexNamespace

// NamespaceIndex indexes objects by namespace.
var NamespaceIndex = controllers.NamespaceIndex

// Options override the defaults; zero values mean the default.
type Options struct {
	// SyncPeriod is how often each HPA is reconciled.
	SyncPeriod time.Duration
	// Tolerance is the cluster-wide tolerance (zero means DefaultTolerance).
	Tolerance float64
	// DownscaleStabilization is the scale-down window without behavior.
	DownscaleStabilization time.Duration
	// CPUInitializationPeriod and InitialReadinessDelay tune which CPU samples count.
	CPUInitializationPeriod time.Duration
	InitialReadinessDelay   time.Duration
	// ConfigurableTolerance enables the per-HPA behavior.scaleUp/scaleDown.tolerance
	// (the HPAConfigurableTolerance feature gate, alpha and off in Kubernetes 1.34).
	ConfigurableTolerance bool
}

func (o Options) withDefaults() Options {
	if o.SyncPeriod <= 0 {
		o.SyncPeriod = DefaultSyncPeriod
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.DownscaleStabilization == 0 {
		o.DownscaleStabilization = DefaultDownscaleStabilization
	}
	if o.CPUInitializationPeriod == 0 {
		o.CPUInitializationPeriod = DefaultCPUInitializationPeriod
	}
	if o.InitialReadinessDelay == 0 {
		o.InitialReadinessDelay = DefaultInitialReadinessDelay
	}
	return o
}

// Controller is the HorizontalPodAutoscaler controller.
type Controller struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	hpas     *informer.Informer
	pods     *informer.Informer
	deploys  *informer.Informer
	rss      *informer.Informer
	metrics  MetricsSource
	opts     Options
	queue    *controllers.Queue
	recorder *events.Recorder
	history  map[string]*history
	// selectors holds each HPA's target selector as last reconciled (Nothing before), to
	// detect pods claimed by more than one HPA.
	selectors map[string]labels.Selector
	identity  string
}

// New returns the controller, writing through client as the controller manager. It adds
// IndexNamespace to pods, so it must be called before pods starts. Every HPA is first
// reconciled one sync period after the hpas informer reports it, then every period.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, hpas, pods, deploys, rss *informer.Informer, metrics MetricsSource, opts Options) *Controller {
	c := &Controller{
		clock: clock, log: log, client: client, hpas: hpas, pods: pods, deploys: deploys, rss: rss,
		metrics: metrics, opts: opts.withDefaults(),
		recorder: events.New(clock, client, Component, ""),
		history:  map[string]*history{}, selectors: map[string]labels.Selector{},
		identity: apiserver.ControllerManagerUser,
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	pods.AddIndex(IndexNamespace, NamespaceIndex)
	enqueue := func(obj runtime.Object) {
		key := informer.Key(obj)
		if _, ok := c.selectors[key]; !ok {
			c.selectors[key] = labels.Nothing()
		}
		// As upstream's rate-limited queue: a key waits one period, and a key already
		// waiting keeps its earlier turn.
		c.queue.AddAfter(key, c.opts.SyncPeriod)
	}
	hpas.AddHandler(informer.Handler{
		OnAdd:    enqueue,
		OnUpdate: func(_, obj runtime.Object) { enqueue(obj) },
		OnDelete: func(obj runtime.Object) { delete(c.selectors, informer.Key(obj)) },
	})
	return c
}

// sync reconciles one HPA and schedules its next turn; failures are reported on the HPA
// (conditions, Events) and wait for the next period, as upstream's.
func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.hpas.Get(ns, name)
	if !ok {
		delete(c.history, key)
		return nil
	}
	c.reconcile(key, obj.(*autoscalingv2.HorizontalPodAutoscaler))
	c.queue.AddAfter(key, c.opts.SyncPeriod)
	return nil
}

// setCondition sets a condition, moving its transition time only when the status changes.
func (c *Controller) setCondition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	for i := range h.Status.Conditions {
		cond := &h.Status.Conditions[i]
		if cond.Type != t {
			continue
		}
		if cond.Status != status {
			cond.LastTransitionTime = metav1.NewTime(c.clock.Now())
		}
		cond.Status, cond.Reason, cond.Message = status, reason, msg
		return
	}
	h.Status.Conditions = append(h.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{
		Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
}

// setStatus rebuilds the status from the counts and metrics, keeping the conditions and,
// unless the target was just rescaled, the last scale time (upstream sets no
// observedGeneration).
func (c *Controller) setStatus(h *autoscalingv2.HorizontalPodAutoscaler, current, desired int32, metrics []autoscalingv2.MetricStatus, rescaled bool) {
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: current,
		DesiredReplicas: desired,
		LastScaleTime:   h.Status.LastScaleTime,
		CurrentMetrics:  metrics,
		Conditions:      h.Status.Conditions,
	}
	if rescaled {
		now := metav1.NewTime(c.clock.Now())
		h.Status.LastScaleTime = &now
	}
}

// updateStatusIfNeeded writes the status if it changed from old.
func (c *Controller) updateStatusIfNeeded(old *autoscalingv2.HorizontalPodAutoscalerStatus, h *autoscalingv2.HorizontalPodAutoscaler) error {
	if equality.Semantic.DeepEqual(old, &h.Status) {
		return nil
	}
	if _, err := c.client.UpdateStatus(h); err != nil {
		c.recorder.Event(h, corev1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("failed to update status for %s: %w", h.Name, err)
	}
	return nil
}

// event records a core/v1 Event about the HPA.
func (c *Controller) event(h *autoscalingv2.HorizontalPodAutoscaler, eventType, reason, message string) {
	// A failure to record is dropped, as upstream's recorder drops it.
	_ = c.recorder.Event(h, eventType, reason, message)
}
