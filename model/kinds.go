package model

import (
	"fmt"
	"reflect"
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// Kind describes one API kind Orrery serves.
type Kind struct {
	// GVK is the kind's group, version and kind.
	GVK schema.GroupVersionKind
	// Resource is the plural lower-case resource name, e.g. "pods".
	Resource string
	// Namespaced is true for kinds that live in a namespace.
	Namespaced bool
	// HasStatus is true for kinds with a status subresource.
	HasStatus bool
	// New returns a new empty typed object, e.g. &corev1.Pod{}.
	New func() runtime.Object
}

// GroupResource returns the kind's group and resource.
func (k *Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource}
}

// GroupKind returns the kind's group and kind.
func (k *Kind) GroupKind() schema.GroupKind {
	return k.GVK.GroupKind()
}

// registry is the immutable set of kinds, built once.
type registry struct {
	sorted     []*Kind
	byGVK      map[schema.GroupVersionKind]*Kind
	byResource map[string]*Kind
	byType     map[reflect.Type]*Kind
}

func gvk(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

var kinds = func() *registry {
	list := []*Kind{
		{GVK: gvk("", "v1", "Pod"), Resource: "pods", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &corev1.Pod{} }},
		{GVK: gvk("", "v1", "Node"), Resource: "nodes", HasStatus: true, New: func() runtime.Object { return &corev1.Node{} }},
		{GVK: gvk("", "v1", "Namespace"), Resource: "namespaces", HasStatus: true, New: func() runtime.Object { return &corev1.Namespace{} }},
		{GVK: gvk("", "v1", "Service"), Resource: "services", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &corev1.Service{} }},
		{GVK: gvk("", "v1", "ConfigMap"), Resource: "configmaps", Namespaced: true, New: func() runtime.Object { return &corev1.ConfigMap{} }},
		//lint:ignore SA1019 v1 Endpoints are deprecated but still served (and maintained by the endpoints controller) in Kubernetes 1.34
		{GVK: gvk("", "v1", "Endpoints"), Resource: "endpoints", Namespaced: true, New: func() runtime.Object { return &corev1.Endpoints{} }},
		{GVK: gvk("", "v1", "Event"), Resource: "events", Namespaced: true, New: func() runtime.Object { return &corev1.Event{} }},
		{GVK: gvk("", "v1", "Secret"), Resource: "secrets", Namespaced: true, New: func() runtime.Object { return &corev1.Secret{} }},
		{GVK: gvk("apps", "v1", "Deployment"), Resource: "deployments", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &appsv1.Deployment{} }},
		{GVK: gvk("apps", "v1", "ReplicaSet"), Resource: "replicasets", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &appsv1.ReplicaSet{} }},
		{GVK: gvk("apps", "v1", "DaemonSet"), Resource: "daemonsets", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &appsv1.DaemonSet{} }},
		{GVK: gvk("apps", "v1", "ControllerRevision"), Resource: "controllerrevisions", Namespaced: true, New: func() runtime.Object { return &appsv1.ControllerRevision{} }},
		{GVK: gvk("batch", "v1", "Job"), Resource: "jobs", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &batchv1.Job{} }},
		{GVK: gvk("discovery.k8s.io", "v1", "EndpointSlice"), Resource: "endpointslices", Namespaced: true, New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }},
		{GVK: gvk("scheduling.k8s.io", "v1", "PriorityClass"), Resource: "priorityclasses", New: func() runtime.Object { return &schedulingv1.PriorityClass{} }},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "Role"), Resource: "roles", Namespaced: true, New: func() runtime.Object { return &rbacv1.Role{} }},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "ClusterRole"), Resource: "clusterroles", New: func() runtime.Object { return &rbacv1.ClusterRole{} }},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "RoleBinding"), Resource: "rolebindings", Namespaced: true, New: func() runtime.Object { return &rbacv1.RoleBinding{} }},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"), Resource: "clusterrolebindings", New: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }},
		{GVK: gvk("coordination.k8s.io", "v1", "Lease"), Resource: "leases", Namespaced: true, New: func() runtime.Object { return &coordinationv1.Lease{} }},
		{GVK: gvk("policy", "v1", "PodDisruptionBudget"), Resource: "poddisruptionbudgets", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &policyv1.PodDisruptionBudget{} }},
		{GVK: gvk("autoscaling", "v2", "HorizontalPodAutoscaler"), Resource: "horizontalpodautoscalers", Namespaced: true, HasStatus: true, New: func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Resource < list[j].Resource })
	r := &registry{
		sorted:     list,
		byGVK:      make(map[schema.GroupVersionKind]*Kind, len(list)),
		byResource: make(map[string]*Kind, len(list)),
		byType:     make(map[reflect.Type]*Kind, len(list)),
	}
	for _, k := range list {
		r.byGVK[k.GVK] = k
		r.byResource[k.Resource] = k
		r.byType[reflect.TypeOf(k.New())] = k
	}
	return r
}()

// Kinds returns all kinds Orrery serves, sorted by resource name.
func Kinds() []*Kind {
	out := make([]*Kind, len(kinds.sorted))
	copy(out, kinds.sorted)
	return out
}

// LookupKind finds a kind by apiVersion ("apps/v1", "v1") and kind ("Deployment").
func LookupKind(apiVersion, kind string) (*Kind, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false
	}
	k, ok := kinds.byGVK[gv.WithKind(kind)]
	return k, ok
}

// LookupResource finds a kind by its plural resource name, e.g. "pods".
func LookupResource(resource string) (*Kind, bool) {
	k, ok := kinds.byResource[resource]
	return k, ok
}

// KindOf finds the kind of a typed object by its Go type.
func KindOf(obj runtime.Object) (*Kind, error) {
	if obj == nil {
		return nil, fmt.Errorf("no kind is registered for a nil object")
	}
	k, ok := kinds.byType[reflect.TypeOf(obj)]
	if !ok {
		return nil, fmt.Errorf("no kind is registered for the type %T", obj)
	}
	return k, nil
}

var scheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, discoveryv1.AddToScheme,
		schedulingv1.AddToScheme, rbacv1.AddToScheme, coordinationv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		utilruntime.Must(add(s))
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
})

// Scheme returns a scheme with every kind Orrery serves registered; it is built once and must be treated as read-only.
func Scheme() *runtime.Scheme {
	return scheme()
}
