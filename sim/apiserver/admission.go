package apiserver

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/model"
)

// Timings the DefaultTolerationSeconds admission plugin adds to every pod.
const (
	// DefaultNotReadyTolerationSeconds is --default-not-ready-toleration-seconds.
	DefaultNotReadyTolerationSeconds int64 = 300
	// DefaultUnreachableTolerationSeconds is --default-unreachable-toleration-seconds.
	DefaultUnreachableTolerationSeconds int64 = 300
	// Node taints the node lifecycle controller sets and the plugin tolerates.
	TaintNodeNotReady    = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
)

type operation string

const (
	opCreate operation = "CREATE"
	opUpdate operation = "UPDATE"
	opDelete operation = "DELETE"
)

// admissionRequest is what an admission plugin sees: the operation, who asks, and the new
// and old objects (obj is owned by the request and may be mutated by mutating plugins).
type admissionRequest struct {
	op   operation
	user User
	kind *model.Kind
	sub  string
	obj  runtime.Object
	old  runtime.Object
}

func (r *admissionRequest) name() string {
	if r.obj != nil {
		return accessor(r.obj).GetName()
	}
	return accessor(r.old).GetName()
}

func (r *admissionRequest) forbidden(err error) error {
	return apierrors.NewForbidden(r.kind.GroupResource(), r.name(), err)
}

// admissionPlugin is one admission controller; either hook may be nil.
type admissionPlugin struct {
	name     string
	mutate   func(s *Server, r *admissionRequest) error
	validate func(s *Server, r *admissionRequest) error
}

// defaultAdmission is the enabled plugin list, in kube-apiserver's order.
func defaultAdmission() []admissionPlugin {
	return []admissionPlugin{
		{name: "NamespaceLifecycle", mutate: namespaceLifecycle},
		{name: "NodeRestriction", validate: nodeRestriction},
		{name: "ServiceAccount", mutate: serviceAccountDefault},
		{name: "Priority", mutate: priorityAdmission},
		{name: "DefaultTolerationSeconds", mutate: defaultTolerationSeconds},
	}
}

func (s *Server) admit(r *admissionRequest) error {
	for _, p := range s.admission {
		if p.mutate != nil {
			if err := p.mutate(s, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) validatingAdmit(r *admissionRequest) error {
	for _, p := range s.admission {
		if p.validate != nil {
			if err := p.validate(s, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// namespaceLifecycle rejects new objects in namespaces that do not exist or are terminating.
func namespaceLifecycle(s *Server, r *admissionRequest) error {
	if r.op != opCreate || !r.kind.Namespaced {
		return nil
	}
	ns := accessor(r.obj).GetNamespace()
	obj, ok := s.getStored("namespaces", "", ns)
	if !ok {
		nsKind, _ := model.LookupResource("namespaces")
		return apierrors.NewNotFound(nsKind.GroupResource(), ns)
	}
	if n := obj.(*corev1.Namespace); n.Status.Phase == corev1.NamespaceTerminating || n.DeletionTimestamp != nil {
		return r.forbidden(fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// serviceAccountDefault gives pods the namespace's default service account.
func serviceAccountDefault(_ *Server, r *admissionRequest) error {
	if pod, ok := r.obj.(*corev1.Pod); ok && r.op == opCreate && pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	return nil
}

// priorityAdmission resolves a pod's priorityClassName (or the global default class) into
// spec.priority and spec.preemptionPolicy.
func priorityAdmission(s *Server, r *admissionRequest) error {
	pod, ok := r.obj.(*corev1.Pod)
	if !ok || r.op != opCreate {
		return nil
	}
	var class *schedulingv1.PriorityClass
	if name := pod.Spec.PriorityClassName; name != "" {
		obj, ok := s.getStored("priorityclasses", "", name)
		if !ok {
			return r.forbidden(fmt.Errorf("no PriorityClass with name %s was found", name))
		}
		class = obj.(*schedulingv1.PriorityClass)
	} else {
		s.rangeResource("priorityclasses", "", func(obj any) {
			if pc := obj.(*schedulingv1.PriorityClass); pc.GlobalDefault && (class == nil || pc.Value < class.Value) {
				class = pc
			}
		})
	}
	var value int32
	policy := corev1.PreemptLowerPriority
	if class != nil {
		value = class.Value
		if class.PreemptionPolicy != nil {
			policy = *class.PreemptionPolicy
		}
		if pod.Spec.PriorityClassName == "" {
			pod.Spec.PriorityClassName = class.Name
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != value {
		return r.forbidden(fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, value))
	}
	pod.Spec.Priority = &value
	pod.Spec.PreemptionPolicy = &policy
	return nil
}

// defaultTolerationSeconds adds the not-ready and unreachable NoExecute tolerations of
// 300 s to pods that do not tolerate those taints already.
func defaultTolerationSeconds(_ *Server, r *admissionRequest) error {
	pod, ok := r.obj.(*corev1.Pod)
	if !ok || r.op != opCreate {
		return nil
	}
	add := func(key string, seconds int64) {
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) && (t.Effect == "" || t.Effect == corev1.TaintEffectNoExecute) {
				return
			}
		}
		s := seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s})
	}
	add(TaintNodeNotReady, DefaultNotReadyTolerationSeconds)
	add(TaintNodeUnreachable, DefaultUnreachableTolerationSeconds)
	return nil
}

// nodeRestriction limits kubelets to their own Node, their own Lease and the pods bound to
// them, with the NodeRestriction plugin's messages.
func nodeRestriction(s *Server, r *admissionRequest) error {
	node := r.user.NodeName()
	if node == "" {
		return nil
	}
	switch r.kind.Resource {
	case "pods":
		switch {
		case r.op == opCreate:
			if _, mirror := r.obj.(*corev1.Pod).Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
				return r.forbidden(fmt.Errorf("pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, node))
			}
		case r.op == opUpdate && r.sub == "status":
			if r.old.(*corev1.Pod).Spec.NodeName != node {
				return r.forbidden(fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
			}
		case r.op == opDelete:
			if r.old.(*corev1.Pod).Spec.NodeName != node {
				return r.forbidden(fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", node))
			}
		}
	case "nodes":
		if name := r.name(); name != node {
			return r.forbidden(fmt.Errorf("node %q is not allowed to modify node %q", node, name))
		}
	case "leases":
		if m := accessor(firstNonNil(r.obj, r.old)); m.GetNamespace() != NodeLeaseNamespace || m.GetName() != node {
			return r.forbidden(fmt.Errorf("can only access node lease with the same name as the requesting node"))
		}
	}
	return nil
}

func firstNonNil(a, b runtime.Object) runtime.Object {
	if a != nil {
		return a
	}
	return b
}
