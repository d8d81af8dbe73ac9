//lint:file-ignore SA1019 the legacy Endpoints API is what this controller writes, as upstream's still does in 1.34

// Package endpoints is the legacy Endpoints controller, still running in Kubernetes 1.34:
// for every Service with a selector it keeps a v1 Endpoints object of the same name whose
// subsets list the selected pods' ready addresses and not-ready addresses per port,
// truncated at 1000 addresses, with the last-change trigger time annotation.
package endpoints

import (
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointsliceutil"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Upstream's limits and names.
const (
	// MaxCapacity is the most addresses an Endpoints object holds; beyond it the controller
	// truncates and annotates.
	MaxCapacity = 1000
	// Truncated is the endpoints.kubernetes.io/over-capacity value of a truncated object.
	Truncated = "truncated"
	// MaxRetries is how many times in a row a failing Service is retried before it is dropped.
	MaxRetries = 15
	// DefaultEndpointUpdatesBatchPeriod is --endpoint-updates-batch-period.
	DefaultEndpointUpdatesBatchPeriod = 0
	// Component is the source of the controller's Events.
	Component = "endpoint-controller"
	// LeaderElectionAnnotation marks leader-election Endpoints, which are never cleaned up.
	LeaderElectionAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Options overrides the controller's defaults.
type Options struct {
	// EndpointUpdatesBatchPeriod delays syncs triggered by pod changes; 0 (the default)
	// syncs at once.
	EndpointUpdatesBatchPeriod time.Duration
}

// Controller is the Endpoints controller.
type Controller struct {
	log       *eventlog.Log
	client    *apiserver.Client
	recorder  *events.Recorder
	services  *informer.Informer
	pods      *informer.Informer
	endpoints *informer.Informer
	queue     *controllers.Queue
	retries   *endpointsliceutil.Retries
	triggers  *endpointsliceutil.TriggerTimeTracker
	// staleRV holds, per Service, the resourceVersion the controller last replaced: a
	// cached object still at it is out of date.
	staleRV map[string]string
	// created holds Services whose Endpoints the controller created and has not yet seen.
	created  map[string]bool
	batch    time.Duration
	identity string
}

// New returns the controller, writing through client as the controller manager. It
// registers endpointsliceutil.IndexNamespace on services and pods, so it must be built
// before the informers start; call Start once they have synced.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, services, pods, endpoints *informer.Informer, opts Options) *Controller {
	c := &Controller{
		log: log, client: client, recorder: events.New(clock, client, Component, ""),
		services: services, pods: pods, endpoints: endpoints,
		retries:  endpointsliceutil.NewRetries(controllers.RetryBaseDelay, controllers.RetryMaxDelay, MaxRetries),
		triggers: endpointsliceutil.NewTriggerTimeTracker(),
		staleRV:  map[string]string{}, created: map[string]bool{},
		batch: opts.EndpointUpdatesBatchPeriod, identity: apiserver.ControllerManagerUser,
	}
	c.queue = controllers.NewQueue(clock, c.sync)
	endpointsliceutil.WatchServicesAndPods(services, pods, c.queue, c.batch)
	queueKey := func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) }
	endpoints.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { delete(c.created, informer.Key(obj)) },
		OnDelete: queueKey,
	})
	return c
}

// Start queues every existing Endpoints object once, so that those left behind by a
// Service deleted while the controller was down are removed.
func (c *Controller) Start() {
	for _, obj := range c.endpoints.List() {
		if _, ok := obj.(*corev1.Endpoints).Annotations[LeaderElectionAnnotation]; !ok {
			c.queue.Add(informer.Key(obj))
		}
	}
}

// sync runs syncService and retries a failure with client-go's default back-off (5 ms
// doubling) up to MaxRetries times.
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
		c.log.Action(c.identity, "EndpointsSyncDropped", "services", ns, name, fmt.Sprintf("Dropping service out of the queue: %v", err))
	}
	return nil
}

var errStale = errors.New("endpoints informer cache is out of date")

func (c *Controller) syncService(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.services.Get(ns, name)
	if !ok {
		// The Service is gone: so are its Endpoints.
		if _, err := c.client.Delete("endpoints", ns, name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		} else if err == nil {
			c.log.Action(c.identity, "EndpointsDeleted", "endpoints", ns, name, fmt.Sprintf("Deleted Endpoints %s of deleted Service", key))
		}
		c.triggers.DeleteService(ns, name)
		delete(c.staleRV, key)
		delete(c.created, key)
		return nil
	}
	svc := obj.(*corev1.Service)
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return nil
	}
	pods := endpointsliceutil.PodsForService(c.pods, svc)
	trigger := c.triggers.Compute(svc, pods)
	subsets := repackSubsets(desiredSubsets(svc, pods))

	var cur *corev1.Endpoints
	if o, ok := c.endpoints.Get(ns, name); ok {
		cur = o.(*corev1.Endpoints)
		if rv, stale := c.staleRV[key]; stale && rv == cur.ResourceVersion {
			return fmt.Errorf("%w, resource version %s already processed for endpoints %s", errStale, rv, key)
		}
	} else {
		if c.created[key] {
			return fmt.Errorf("%w: endpoints %s created and not yet seen", errStale, key)
		}
		cur = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: svc.Labels}}
	}
	create := cur.ResourceVersion == ""

	compareLabels := cur.Labels
	if _, ok := cur.Labels[corev1.IsHeadlessService]; ok {
		compareLabels = withoutLabel(cur.Labels, corev1.IsHeadlessService)
	}
	if !create && semanticIgnoreRV.DeepEqual(cur.Subsets, subsets) && equality.Semantic.DeepEqual(compareLabels, svc.Labels) &&
		capacityAnnotationSetCorrectly(cur.Annotations, cur.Subsets) {
		return nil
	}
	next := cur.DeepCopy()
	next.Subsets = subsets
	next.Labels = withoutLabel(svc.Labels, "")
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if !trigger.IsZero() {
		next.Annotations[corev1.EndpointsLastChangeTriggerTime] = endpointsliceutil.FormatTriggerTime(trigger)
	} else {
		delete(next.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if truncate(next) {
		next.Annotations[corev1.EndpointsOverCapacity] = Truncated
	} else {
		delete(next.Annotations, corev1.EndpointsOverCapacity)
	}
	if !endpointsliceutil.IsServiceIPSet(svc) {
		next.Labels[corev1.IsHeadlessService] = ""
	} else {
		delete(next.Labels, corev1.IsHeadlessService)
	}

	var err error
	var written runtime.Object
	if create {
		written, err = c.client.Create(next)
	} else {
		written, err = c.client.Update(next)
	}
	if err != nil {
		if create && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		var msg, reason string
		if create {
			reason, msg = "FailedToCreateEndpoint", fmt.Sprintf("Failed to create endpoint for service %s/%s: %v", ns, name, err)
		} else {
			reason, msg = "FailedToUpdateEndpoint", fmt.Sprintf("Failed to update endpoint %s/%s: %v", ns, name, err)
		}
		_ = c.recorder.Event(next, corev1.EventTypeWarning, reason, msg)
		c.log.Action(c.identity, reason, "endpoints", ns, name, msg)
		return err
	}
	ready, notReady := count(next.Subsets)
	if create {
		c.created[key] = true
		c.log.Action(c.identity, "EndpointsCreated", "endpoints", ns, name, fmt.Sprintf("Created Endpoints %s: %d ready, %d not ready", key, ready, notReady))
	} else {
		if w := written.(*corev1.Endpoints); w.ResourceVersion != cur.ResourceVersion {
			c.staleRV[key] = cur.ResourceVersion
		}
		c.log.Action(c.identity, "EndpointsUpdated", "endpoints", ns, name, fmt.Sprintf("Updated Endpoints %s: %d ready, %d not ready", key, ready, notReady))
	}
	return nil
}

// desiredSubsets lists one single-address subset per pod and port: pods that belong in
// endpoints (terminating ones only with publishNotReadyAddresses), ready unless the pod is
// not ready and not-ready addresses are not published.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	subsets := []corev1.EndpointSubset{}
	tolerate := svc.Spec.PublishNotReadyAddresses
	for _, p := range pods {
		if !endpointsliceutil.ShouldPodBeInEndpoints(p, tolerate) {
			continue
		}
		epa, ok := podAddress(svc, p)
		if !ok {
			continue
		}
		if endpointsliceutil.ShouldSetHostname(p, svc) {
			epa.Hostname = p.Spec.Hostname
		}
		ready := tolerate || endpointsliceutil.IsPodReady(p)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				subsets = append(subsets, subset(epa, nil, ready))
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, err := endpointsliceutil.FindPort(p, sp)
			if err != nil {
				continue
			}
			subsets = append(subsets, subset(epa, &corev1.EndpointPort{Name: sp.Name, Port: int32(num), Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}, ready))
		}
	}
	return subsets
}

func subset(a corev1.EndpointAddress, port *corev1.EndpointPort, ready bool) corev1.EndpointSubset {
	ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{}}
	if port != nil {
		ss.Ports = append(ss.Ports, *port)
	}
	if ready {
		ss.Addresses = []corev1.EndpointAddress{a}
	} else {
		ss.NotReadyAddresses = []corev1.EndpointAddress{a}
	}
	return ss
}

// podAddress returns the pod's address in the Service's IP family (the first of its
// ipFamilies, else its clusterIP's family, else the pod IP's).
func podAddress(svc *corev1.Service, p *corev1.Pod) (corev1.EndpointAddress, bool) {
	v6 := false
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		v6 = svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	case svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone:
		v6 = isIPv6(svc.Spec.ClusterIP)
	default:
		v6 = isIPv6(p.Status.PodIP)
	}
	for _, ip := range endpointsliceutil.PodIPs(p) {
		if isIPv6(ip) == v6 {
			node := p.Spec.NodeName
			return corev1.EndpointAddress{
				IP:        ip,
				NodeName:  &node,
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
			}, true
		}
	}
	return corev1.EndpointAddress{}, false
}

func isIPv6(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() == nil
}

// withoutLabel copies labels without key (never nil).
func withoutLabel(labels map[string]string, key string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func count(subsets []corev1.EndpointSubset) (ready, notReady int) {
	for _, ss := range subsets {
		ready += len(ss.Addresses)
		notReady += len(ss.NotReadyAddresses)
	}
	return ready, notReady
}

// capacityAnnotationSetCorrectly reports whether the stored object is within capacity and
// carries no over-capacity annotation.
func capacityAnnotationSetCorrectly(annotations map[string]string, subsets []corev1.EndpointSubset) bool {
	if r, n := count(subsets); r+n > MaxCapacity {
		return false
	}
	_, ok := annotations[corev1.EndpointsOverCapacity]
	return !ok
}

// truncate cuts an object over MaxCapacity down to it, as upstream: not-ready addresses go
// first; each subset keeps a share proportional to its size, rounded up, the last ones
// taking what is left. It reports whether it truncated.
func truncate(ep *corev1.Endpoints) bool {
	totalReady, totalNotReady := count(ep.Subsets)
	if totalReady+totalNotReady <= MaxCapacity {
		return false
	}
	truncateReady := totalReady > MaxCapacity
	limit, total := MaxCapacity-totalReady, totalNotReady
	if truncateReady {
		limit, total = MaxCapacity, totalReady
	}
	left := limit
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		n := len(ss.NotReadyAddresses)
		if truncateReady {
			n = len(ss.Addresses)
		}
		keep := min(int(math.Ceil(float64(n)/float64(total)*float64(limit))), left)
		if truncateReady {
			if len(ss.Addresses) > keep {
				ss.Addresses = ss.Addresses[:keep]
			}
			ss.NotReadyAddresses = []corev1.EndpointAddress{}
			left -= len(ss.Addresses)
		} else {
			if len(ss.NotReadyAddresses) > keep {
				ss.NotReadyAddresses = ss.NotReadyAddresses[:keep]
			}
			left -= len(ss.NotReadyAddresses)
		}
	}
	return true
}

// semanticIgnoreRV compares subsets ignoring the resourceVersion of target references.
var semanticIgnoreRV = conversion.EqualitiesOrDie(
	func(a, b corev1.ObjectReference) bool {
		a.ResourceVersion, b.ResourceVersion = "", ""
		return a == b
	},
)
