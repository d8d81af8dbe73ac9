// Package endpointsliceutil holds what the EndpointSlice and Endpoints controllers share, as
// upstream's k8s.io/endpointslice/util does: which pods belong in a Service's endpoints, how a
// Service port resolves against a pod, which Services a pod change concerns, the
// last-change trigger time, the namespace index and the controllers' retry budget.
package endpointsliceutil

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

// IndexNamespace is the name informers register NamespaceIndex under (the controllers
// package's shared one).
const IndexNamespace = controllers.IndexNamespace

// NamespaceIndex indexes namespaced objects by their namespace, as a lister's
// Pods(namespace) and Services(namespace) read them.
var NamespaceIndex = controllers.NamespaceIndex

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool { return controllers.IsPodReady(p) }

// PodIPs returns the pod's IPs: status.podIPs, or status.podIP when only that is set (the
// API server keeps the two in step upstream).
func PodIPs(p *corev1.Pod) []string {
	if len(p.Status.PodIPs) > 0 {
		out := make([]string, len(p.Status.PodIPs))
		for i, ip := range p.Status.PodIPs {
			out[i] = ip.IP
		}
		return out
	}
	if p.Status.PodIP != "" {
		return []string{p.Status.PodIP}
	}
	return nil
}

// ShouldPodBeInEndpoints reports whether a pod belongs in a Service's endpoints: not
// terminal (Succeeded or Failed), with an IP, and — unless includeTerminating — not being
// deleted.
func ShouldPodBeInEndpoints(p *corev1.Pod, includeTerminating bool) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	if len(PodIPs(p)) == 0 {
		return false
	}
	return includeTerminating || p.DeletionTimestamp == nil
}

// ShouldSetHostname reports whether an endpoint of the pod carries the pod's hostname: the
// pod names a hostname and its subdomain is the Service, in the same namespace.
func ShouldSetHostname(p *corev1.Pod, svc *corev1.Service) bool {
	return p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && svc.Namespace == p.Namespace
}

// FindPort resolves a Service port's targetPort against a pod: a number is used as is; a
// name is looked up among the containers' named ports of the same protocol, then among
// sidecar (restartPolicy Always) init containers'.
func FindPort(p *corev1.Pod, sp *corev1.ServicePort) (int, error) {
	tp := sp.TargetPort
	switch tp.Type {
	case intstr.String:
		for _, c := range p.Spec.Containers {
			for _, port := range c.Ports {
				if port.Name == tp.StrVal && port.Protocol == sp.Protocol {
					return int(port.ContainerPort), nil
				}
			}
		}
		for _, c := range p.Spec.InitContainers {
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				continue
			}
			for _, port := range c.Ports {
				if port.Name == tp.StrVal && port.Protocol == sp.Protocol {
					return int(port.ContainerPort), nil
				}
			}
		}
	case intstr.Int:
		return tp.IntValue(), nil
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", p.UID)
}

// IsServiceIPSet reports whether the Service has a cluster IP. Orrery's API server allocates
// no cluster IPs, so an empty clusterIP stands for an allocated one: only "None" (headless)
// counts as unset.
func IsServiceIPSet(svc *corev1.Service) bool { return svc.Spec.ClusterIP != corev1.ClusterIPNone }

// ServiceKey returns the queue key of a Service.
func ServiceKey(ns, name string) string { return ns + "/" + name }

// ServicesForPod returns the keys, sorted, of the Services in namespace ns whose selector
// matches podLabels (a nil selector matches nothing). services must carry IndexNamespace.
func ServicesForPod(services *informer.Informer, ns string, podLabels map[string]string) []string {
	var out []string
	for _, obj := range services.ByIndex(IndexNamespace, ns) {
		svc := obj.(*corev1.Service)
		if svc.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(labels.Set(svc.Spec.Selector)).Matches(labels.Set(podLabels)) {
			out = append(out, ServiceKey(svc.Namespace, svc.Name))
		}
	}
	return out
}

// ServicesToUpdateOnPodChange returns the keys, sorted, of the Services a pod update
// concerns: none unless the pod's endpoint-relevant fields (deletion, readiness, IPs) or its
// labels, hostname or subdomain changed; with changed labels, the Services it joined or
// left — or, if the endpoint also changed, every Service it matches before or after.
func ServicesToUpdateOnPodChange(services *informer.Informer, old, cur *corev1.Pod) []string {
	podChanged, labelsChanged := podEndpointsChanged(old, cur)
	if !podChanged && !labelsChanged {
		return nil
	}
	now := ServicesForPod(services, cur.Namespace, cur.Labels)
	if !labelsChanged {
		return now
	}
	before := ServicesForPod(services, old.Namespace, old.Labels)
	set := map[string]int{}
	for _, k := range now {
		set[k] |= 1
	}
	for _, k := range before {
		set[k] |= 2
	}
	var out []string
	for k, in := range set {
		if podChanged || in != 3 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func podEndpointsChanged(old, cur *corev1.Pod) (podChanged, labelsChanged bool) {
	labelsChanged = !labels.Equals(old.Labels, cur.Labels) ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
	if (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		(old.DeletionTimestamp != nil && !old.DeletionTimestamp.Equal(cur.DeletionTimestamp)) {
		return true, labelsChanged
	}
	if IsPodReady(old) != IsPodReady(cur) {
		return true, labelsChanged
	}
	a, b := PodIPs(old), PodIPs(cur)
	if len(a) != len(b) {
		return true, labelsChanged
	}
	for i := range a {
		if a[i] != b[i] {
			return true, labelsChanged
		}
	}
	return false, labelsChanged
}

// PodsForService returns the pods of the Service's namespace that its selector matches, in
// name order. pods must carry IndexNamespace.
func PodsForService(pods *informer.Informer, svc *corev1.Service) []*corev1.Pod {
	sel := labels.SelectorFromValidatedSet(labels.Set(svc.Spec.Selector))
	var out []*corev1.Pod
	for _, obj := range pods.ByIndex(IndexNamespace, svc.Namespace) {
		if p := obj.(*corev1.Pod); sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// WatchServicesAndPods adds the handlers both endpoint controllers share: a Service change
// queues it at once, and a pod change queues the Services it concerns after batch (as
// upstream's endpointUpdatesBatchPeriod). It registers the namespace index on both
// informers, so call it before they start.
func WatchServicesAndPods(services, pods *informer.Informer, queue *controllers.Queue, batch time.Duration) {
	services.AddIndex(IndexNamespace, NamespaceIndex)
	pods.AddIndex(IndexNamespace, NamespaceIndex)
	queueKey := func(obj runtime.Object) { queue.Add(informer.Key(obj)) }
	services.AddHandler(informer.Handler{
		OnAdd:    queueKey,
		OnUpdate: func(_, cur runtime.Object) { queueKey(cur) },
		OnDelete: queueKey,
	})
	queuePod := func(obj runtime.Object) {
		p := obj.(*corev1.Pod)
		for _, key := range ServicesForPod(services, p.Namespace, p.Labels) {
			queue.AddAfter(key, batch)
		}
	}
	pods.AddHandler(informer.Handler{
		OnAdd: queuePod,
		OnUpdate: func(old, cur runtime.Object) {
			for _, key := range ServicesToUpdateOnPodChange(services, old.(*corev1.Pod), cur.(*corev1.Pod)) {
				queue.AddAfter(key, batch)
			}
		},
		OnDelete: queuePod,
	})
}
