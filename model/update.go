package model

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateUpdate checks an update of old to obj as the API server would: Validate(obj)
// plus the rules on immutable fields and metadata (obj must carry a resourceVersion, as upstream requires).
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if obj == nil || old == nil || reflect.TypeOf(obj) != reflect.TypeOf(old) {
		return field.ErrorList{field.Invalid(field.NewPath("kind"), fmt.Sprintf("%T", obj), fmt.Sprintf("may not change the type of an object from %T", old))}
	}
	errs := Validate(obj)
	if reflect.ValueOf(old).IsNil() || reflect.ValueOf(obj).IsNil() {
		return errs
	}
	if nm, ok := obj.(metav1.Object); ok {
		om := old.(metav1.Object)
		errs = append(errs, apivalidation.ValidateObjectMetaAccessorUpdate(nm, om, field.NewPath("metadata"))...)
	}
	spec := field.NewPath("spec")
	switch o := obj.(type) {
	case *corev1.Pod:
		errs = append(errs, validatePodUpdate(o, old.(*corev1.Pod))...)
	case *corev1.Service:
		oo := old.(*corev1.Service)
		if oo.Spec.ClusterIP != "" && o.Spec.ClusterIP != "" && o.Spec.ClusterIP != oo.Spec.ClusterIP &&
			oo.Spec.Type != corev1.ServiceTypeExternalName && o.Spec.Type != corev1.ServiceTypeExternalName {
			errs = append(errs, field.Invalid(spec.Child("clusterIP"), o.Spec.ClusterIP, fieldImmutableErrorMsg))
		}
	case *corev1.ConfigMap:
		oo := old.(*corev1.ConfigMap)
		errs = append(errs, validateImmutableData(o.Immutable, oo.Immutable,
			equality.Semantic.DeepEqual(o.Data, oo.Data) && equality.Semantic.DeepEqual(o.BinaryData, oo.BinaryData), "data")...)
	case *corev1.Secret:
		oo := old.(*corev1.Secret)
		errs = append(errs, apivalidation.ValidateImmutableField(o.Type, oo.Type, field.NewPath("type"))...)
		errs = append(errs, validateImmutableData(o.Immutable, oo.Immutable, equality.Semantic.DeepEqual(o.Data, oo.Data), "data")...)
	case *appsv1.Deployment:
		errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, old.(*appsv1.Deployment).Spec.Selector, spec.Child("selector"))...)
	case *appsv1.ReplicaSet:
		errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, old.(*appsv1.ReplicaSet).Spec.Selector, spec.Child("selector"))...)
	case *appsv1.DaemonSet:
		errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, old.(*appsv1.DaemonSet).Spec.Selector, spec.Child("selector"))...)
	case *batchv1.Job:
		errs = append(errs, validateJobUpdate(o, old.(*batchv1.Job))...)
	case *discoveryv1.EndpointSlice:
		errs = append(errs, apivalidation.ValidateImmutableField(o.AddressType, old.(*discoveryv1.EndpointSlice).AddressType, field.NewPath("addressType"))...)
	case *schedulingv1.PriorityClass:
		oo := old.(*schedulingv1.PriorityClass)
		if o.Value != oo.Value {
			errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
		}
		errs = append(errs, apivalidation.ValidateImmutableField(o.PreemptionPolicy, oo.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	case *rbacv1.RoleBinding:
		if oo := old.(*rbacv1.RoleBinding); o.RoleRef != oo.RoleRef {
			errs = append(errs, field.Invalid(field.NewPath("roleRef"), o.RoleRef, "cannot change roleRef"))
		}
	case *rbacv1.ClusterRoleBinding:
		if oo := old.(*rbacv1.ClusterRoleBinding); o.RoleRef != oo.RoleRef {
			errs = append(errs, field.Invalid(field.NewPath("roleRef"), o.RoleRef, "cannot change roleRef"))
		}
	}
	return errs
}

// ValidateStatusUpdate checks an update of old to obj through the status subresource, as
// the API server's status strategies do: the metadata rules of an update and the status
// itself (the spec is the stored one, already valid).
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	if obj == nil || old == nil || reflect.TypeOf(obj) != reflect.TypeOf(old) {
		return field.ErrorList{field.Invalid(field.NewPath("kind"), fmt.Sprintf("%T", obj), fmt.Sprintf("may not change the type of an object from %T", old))}
	}
	if reflect.ValueOf(old).IsNil() || reflect.ValueOf(obj).IsNil() {
		return nil
	}
	var errs field.ErrorList
	if nm, ok := obj.(metav1.Object); ok {
		errs = append(errs, apivalidation.ValidateObjectMetaAccessorUpdate(nm, old.(metav1.Object), field.NewPath("metadata"))...)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		errs = append(errs, validatePodStatus(&o.Status)...)
	case *corev1.Node:
		errs = append(errs, validateNodeStatus(&o.Status)...)
	}
	return errs
}

// validatePodStatus checks what upstream's ValidatePodStatusUpdate checks of the fields
// the simulated components write: the nominated node's name and the pod's IPs.
func validatePodStatus(st *corev1.PodStatus) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("status")
	if n := st.NominatedNodeName; n != "" {
		for _, msg := range validation.IsDNS1123Subdomain(n) {
			errs = append(errs, field.Invalid(path.Child("nominatedNodeName"), n, msg))
		}
	}
	for i, ip := range st.PodIPs {
		errs = append(errs, validation.IsValidIP(path.Child("podIPs").Index(i).Child("ip"), ip.IP)...)
	}
	return errs
}

func validateImmutableData(newImm, oldImm *bool, sameData bool, dataField string) field.ErrorList {
	if oldImm == nil || !*oldImm {
		return nil
	}
	var errs field.ErrorList
	if newImm == nil || !*newImm {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !sameData {
		errs = append(errs, field.Forbidden(field.NewPath(dataField), "field is immutable when `immutable` is set"))
	}
	return errs
}

// validatePodUpdate allows only the pod spec changes upstream allows: container images,
// activeDeadlineSeconds (set or lowered), added tolerations, removed scheduling gates,
// terminationGracePeriodSeconds from negative to 1, and nodeName set once.
func validatePodUpdate(p, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	if d := p.Spec.ActiveDeadlineSeconds; d != nil {
		if *d < 0 || *d > math.MaxInt32 {
			return append(errs, field.Invalid(sp.Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if od := old.Spec.ActiveDeadlineSeconds; od != nil && *od < *d {
			return append(errs, field.Invalid(sp.Child("activeDeadlineSeconds"), *d, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(sp.Child("activeDeadlineSeconds"), p.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	for _, ot := range old.Spec.Tolerations {
		found := false
		for _, nt := range p.Spec.Tolerations {
			c := ot
			c.TolerationSeconds = nt.TolerationSeconds
			if equality.Semantic.DeepEqual(c, nt) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, field.Forbidden(sp.Child("tolerations"), "existing toleration can not be modified except its tolerationSeconds"))
			break
		}
	}
	oldGates := map[string]bool{}
	for _, g := range old.Spec.SchedulingGates {
		oldGates[g.Name] = true
	}
	for _, g := range p.Spec.SchedulingGates {
		if !oldGates[g.Name] {
			errs = append(errs, field.Forbidden(sp.Child("schedulingGates"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}

	m := p.Spec.DeepCopy()
	if len(m.Containers) == len(old.Spec.Containers) {
		for i := range m.Containers {
			m.Containers[i].Image = old.Spec.Containers[i].Image
		}
	}
	if len(m.InitContainers) == len(old.Spec.InitContainers) {
		for i := range m.InitContainers {
			m.InitContainers[i].Image = old.Spec.InitContainers[i].Image
		}
	}
	m.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	m.Tolerations = old.Spec.Tolerations
	m.SchedulingGates = old.Spec.SchedulingGates
	if old.Spec.NodeName == "" {
		m.NodeName = old.Spec.NodeName
	}
	if og := old.Spec.TerminationGracePeriodSeconds; og != nil && *og < 0 && m.TerminationGracePeriodSeconds != nil && *m.TerminationGracePeriodSeconds == 1 {
		m.TerminationGracePeriodSeconds = og
	}
	if !equality.Semantic.DeepEqual(*m, old.Spec) {
		errs = append(errs, field.Forbidden(sp, "pod updates may not change fields other than "+strings.Join(updatablePodSpecFields, ",")))
	}
	return errs
}

func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	sp := field.NewPath("spec")
	errs := apivalidation.ValidateImmutableField(j.Spec.Selector, old.Spec.Selector, sp.Child("selector"))
	errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.CompletionMode, old.Spec.CompletionMode, sp.Child("completionMode"))...)
	elastic := j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion &&
		j.Spec.Completions != nil && j.Spec.Parallelism != nil && *j.Spec.Completions == *j.Spec.Parallelism
	if !elastic {
		errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.Completions, old.Spec.Completions, sp.Child("completions"))...)
	}
	if old.Spec.Suspend == nil || !*old.Spec.Suspend {
		errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.Template, old.Spec.Template, sp.Child("template"))...)
	}
	return errs
}
