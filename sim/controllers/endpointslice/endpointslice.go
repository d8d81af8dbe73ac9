// Package endpointslice is the EndpointSlice controller: for every Service with a selector
// it keeps discovery.k8s.io/v1 EndpointSlices listing the selected pods' addresses, ports and
// ready/serving/terminating conditions, at most maxEndpointsPerSlice to a slice, changing
// existing slices in place before creating new ones, as upstream's reconciler does.
package endpointslice

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointsliceutil"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Upstream's defaults and names.
const (
	// DefaultMaxEndpointsPerSlice is kube-controller-manager's --max-endpoints-per-slice.
	DefaultMaxEndpointsPerSlice = 100
	// DefaultEndpointUpdatesBatchPeriod is --endpointslice-updates-batch-period: how long a
	// pod change waits before its Services sync, so that changes batch.
	DefaultEndpointUpdatesBatchPeriod = 0
	// EndpointSliceChangeMinSyncDelay is the least delay before a Service syncs after an
	// outside change to one of its slices.
	EndpointSliceChangeMinSyncDelay = 1 * time.Second
	// SyncBackOff is the first retry delay of a failed Service sync, doubling each time.
	SyncBackOff = 1 * time.Second
	// MaxSyncBackOff caps the retry delay.
	MaxSyncBackOff = 1000 * time.Second
	// MaxRetries is how many times in a row a failing Service is retried before it is dropped.
	MaxRetries = 15
	// ControllerName is the endpointslice.kubernetes.io/managed-by value of this
	// controller's slices.
	ControllerName = "endpointslice-controller.k8s.io"
	// Component is the source of the controller's Events.
	Component = "endpoint-slice-controller"
	// IndexService is the name slice informers register ServiceIndex under.
	IndexService = "endpointslice-service"
)

// ServiceIndex indexes EndpointSlices managed by this controller by "<namespace>/<service>"
// (their kubernetes.io/service-name label).
func ServiceIndex(obj runtime.Object) []string {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelManagedBy] != ControllerName || s.Labels[discoveryv1.LabelServiceName] == "" {
		return nil
	}
	return []string{sliceServiceKey(s)}
}

// Options overrides the controller's defaults.
type Options struct {
	// MaxEndpointsPerSlice caps endpoints per slice; 0 means DefaultMaxEndpointsPerSlice.
	MaxEndpointsPerSlice int32
	// EndpointUpdatesBatchPeriod delays syncs triggered by pod changes; 0 (the default)
	// syncs at once.
	EndpointUpdatesBatchPeriod time.Duration
}

// Controller is the EndpointSlice controller.
type Controller struct {
	log         *eventlog.Log
	client      *apiserver.Client
	recorder    *events.Recorder
	services    *informer.Informer
	pods        *informer.Informer
	slices      *informer.Informer
	nodes       *informer.Informer
	queue       *controllers.Queue
	retries     *endpointsliceutil.Retries
	tracker     *sliceTracker
	triggers    *endpointsliceutil.TriggerTimeTracker
	maxPerSlice int32
	batch       time.Duration
	identity    string
}

// New returns the controller, writing through client as the controller manager. It
// registers the indexes it reads — endpointsliceutil.IndexNamespace on services and pods,
// IndexService on slices — so it must be built before the informers start.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, services, pods, slices, nodes *informer.Informer, opts Options) *Controller {
	c := &Controller{
		log: log, client: client, recorder: events.New(clock, client, Component, ""),
		services: services, pods: pods, slices: slices, nodes: nodes,
		retries:     endpointsliceutil.NewRetries(SyncBackOff, MaxSyncBackOff, MaxRetries),
		tracker:     newSliceTracker(),
		triggers:    endpointsliceutil.NewTriggerTimeTracker(),
		maxPerSlice: opts.MaxEndpointsPerSlice,
		batch:       opts.EndpointUpdatesBatchPeriod,
		identity:    apiserver.ControllerManagerUser,
	}
	if c.maxPerSlice <= 0 {
		c.maxPerSlice = DefaultMaxEndpointsPerSlice
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	endpointsliceutil.WatchServicesAndPods(services, pods, c.queue, c.batch)
	slices.AddIndex(IndexService, ServiceIndex)
	slices.AddHandler(informer.Handler{
		OnAdd: func(obj runtime.Object) {
			if s := obj.(*discoveryv1.EndpointSlice); managed(s) && c.tracker.shouldSync(s) {
				c.queueForSlice(s)
			}
		},
		OnUpdate: func(old, cur runtime.Object) {
			prev, s := old.(*discoveryv1.EndpointSlice), cur.(*discoveryv1.EndpointSlice)
			if prev.Labels[discoveryv1.LabelServiceName] != s.Labels[discoveryv1.LabelServiceName] {
				c.queueForSlice(s)
				c.queueForSlice(prev)
				return
			}
			if managed(prev) != managed(s) || (managed(s) && c.tracker.shouldSync(s)) {
				c.queueForSlice(s)
			}
		},
		OnDelete: func(obj runtime.Object) {
			if s := obj.(*discoveryv1.EndpointSlice); managed(s) && c.tracker.has(s) && !c.tracker.handleDeletion(s) {
				c.queueForSlice(s)
			}
		},
	})
	return c
}

func managed(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == ControllerName
}

// queueForSlice syncs a slice's Service after the larger of the minimum slice-change delay
// and the batch period.
func (c *Controller) queueForSlice(s *discoveryv1.EndpointSlice) {
	if s.Labels[discoveryv1.LabelServiceName] == "" {
		return
	}
	c.queue.AddAfter(sliceServiceKey(s), max(EndpointSliceChangeMinSyncDelay, c.batch))
}

// sync runs syncService and retries a failure with the controller's own back-off and
// budget (1 s doubling to 1000 s, 15 retries), as upstream's rate limiter.
func (c *Controller) sync(key string) error {
	err := c.syncService(key)
	if err == nil {
		c.retries.Forget(key)
		return nil
	}
	if d, ok := c.retries.Failed(key); ok {
		c.queue.AddAfter(key, d)
	} else {
		ns, name := informer.SplitKey(key)
		c.log.Action(c.identity, "EndpointSliceSyncDropped", "services", ns, name,
			fmt.Sprintf("Retry budget exceeded, dropping service out of the queue: %v", err))
	}
	return nil
}

func (c *Controller) syncService(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.services.Get(ns, name)
	if !ok {
		c.triggers.DeleteService(ns, name)
		c.tracker.deleteService(key)
		return nil
	}
	svc := obj.(*corev1.Service)
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return nil
	}
	pods := endpointsliceutil.PodsForService(c.pods, svc)
	var slices []*discoveryv1.EndpointSlice
	for _, o := range c.slices.ByIndex(IndexService, key) {
		if s := o.(*discoveryv1.EndpointSlice); s.DeletionTimestamp == nil {
			slices = append(slices, s)
		}
	}
	if c.tracker.stale(svc, slices) {
		return errStaleCache
	}
	trigger := c.triggers.Compute(svc, pods)
	if err := c.reconcile(svc, pods, slices, trigger); err != nil {
		msg := fmt.Sprintf("Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		_ = c.recorder.Event(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", msg)
		c.log.Action(c.identity, "FailedToUpdateEndpointSlices", "services", svc.Namespace, svc.Name, msg)
		return err
	}
	return nil
}
