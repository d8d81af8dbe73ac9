package apiserver

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/orrery-sim/orrery/model"
)

// DeleteOptions are the options of a delete request, as metav1.DeleteOptions.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the object's grace period; 0 deletes at once.
	GracePeriodSeconds *int64
	// Preconditions must hold for the delete to proceed.
	Preconditions *metav1.Preconditions
	// PropagationPolicy decides the fate of the object's dependents: Orphan (the orphan
	// finalizer), Foreground (the foregroundDeletion finalizer) or Background; nil means the
	// finalizers the object already carries, else the kind's default (defaultGCPolicy).
	PropagationPolicy *metav1.DeletionPropagation
	// OrphanDependents is the deprecated boolean form of PropagationPolicy; setting both is
	// invalid (422).
	OrphanDependents *bool
}

// meta returns the options as the metav1 type, for upstream's validation.
func (o DeleteOptions) meta() *metav1.DeleteOptions {
	//lint:ignore SA1019 the deprecated field is still served and validated upstream
	return &metav1.DeleteOptions{GracePeriodSeconds: o.GracePeriodSeconds, Preconditions: o.Preconditions, PropagationPolicy: o.PropagationPolicy, OrphanDependents: o.OrphanDependents}
}

// gcPolicy is a kind's default garbage-collection policy, as the REST strategies'
// DefaultGarbageCollectionPolicy.
type gcPolicy int

const (
	// gcDeleteDependents: dependents are deleted (in the background) unless asked otherwise.
	gcDeleteDependents gcPolicy = iota
	// gcOrphanDependents: dependents are orphaned unless asked otherwise.
	gcOrphanDependents
	// gcUnsupported: the kind is never garbage collected; no GC finalizer is ever set.
	gcUnsupported
)

// defaultGCPolicy is upstream's per-kind default: batch/v1 Jobs orphan their pods (the Job
// strategy keeps batch/v1's historical default for clients that send no policy; kubectl
// always sends one, Background by default), core/v1 Events are never collected, and every
// other kind Orrery serves (apps/v1 included) deletes its dependents in the background.
func defaultGCPolicy(k *model.Kind) gcPolicy {
	switch k.GroupResource() {
	case schema.GroupResource{Group: "batch", Resource: "jobs"}:
		return gcOrphanDependents
	case schema.GroupResource{Resource: "events"}:
		return gcUnsupported
	}
	return gcDeleteDependents
}

// delete removes an object or, for a pod on a node or an object with finalizers (among
// them the garbage collector's orphan and foregroundDeletion), starts its deletion by
// setting deletionTimestamp.
func (s *Server) delete(u User, resource, ns, name string, opts DeleteOptions) (runtime.Object, error) {
	k, err := lookupResource(resource)
	if err != nil {
		return nil, err
	}
	if !k.Namespaced {
		ns = ""
	}
	out, rev, err := s.doDelete(u, k, ns, name, opts)
	s.record(u, "delete", k, "", ns, name, rev, err)
	return out, err
}

// doDelete follows the generic registry's Delete: graceful deletion (pods), the garbage
// collection finalizers the propagation policy asks for, then either an update marking
// the object as being deleted or its removal. rev is 0 when nothing was written.
func (s *Server) doDelete(u User, k *model.Kind, ns, name string, opts DeleteOptions) (runtime.Object, int64, error) {
	cur, err := s.authorizedGet(u, "delete", k, "", ns, name)
	if err != nil {
		return nil, 0, err
	}
	if errs := metavalidation.ValidateDeleteOptions(opts.meta()); len(errs) > 0 {
		return nil, 0, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
	}
	old := cur.Value.(runtime.Object)
	if err := checkPreconditions(k, accessor(old), opts.Preconditions); err != nil {
		return nil, 0, err
	}
	if err := s.validatingAdmit(&admissionRequest{op: opDelete, user: u, kind: k, old: old}); err != nil {
		return nil, 0, err
	}
	obj := old.DeepCopyObject()
	m := accessor(obj)
	graceful, pending := s.beforeDelete(obj, m, &opts)
	if pending {
		// Graceful deletion is under way and the request does not shorten it: nothing
		// changes, not even the finalizers.
		return old.DeepCopyObject(), 0, nil
	}
	if update, fins := gcFinalizers(k, m, opts); update {
		m.SetFinalizers(fins)
	}
	pendingFinalizers := len(m.GetFinalizers()) > 0
	if !pendingFinalizers && (!graceful || gracePeriod(m) == 0) {
		// Nothing holds the object: it goes now (upstream writes a grace-0 pod once more
		// before removing it; Orrery removes it in one write).
		rev := s.store.Rev() + 1
		if _, err := s.store.Delete(cur.Key, cur.ModRevision); err != nil {
			return nil, 0, storeErr(k, name, err)
		}
		s.afterWrite(k)
		return old.DeepCopyObject(), rev, nil
	}
	if !graceful {
		s.markAsDeleting(m)
	}
	if equality.Semantic.DeepEqual(obj, old) {
		return old.DeepCopyObject(), 0, nil
	}
	rev := s.store.Rev() + 1
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if _, err := s.store.Update(cur.Key, obj, cur.ModRevision); err != nil {
		return nil, 0, storeErr(k, name, err)
	}
	s.afterWrite(k)
	return obj.DeepCopyObject(), rev, nil
}

// checkPreconditions answers 409 with the texts of the registry's BeforeDelete, which
// checks them first (its conflict names the kind where the resource would be).
func checkPreconditions(k *model.Kind, m metav1.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	gr := schema.GroupResource{Group: k.GVK.Group, Resource: k.GVK.Kind}
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(gr, m.GetName(), fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(gr, m.GetName(), fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// beforeDelete is rest.BeforeDelete for obj (a copy it may change): graceful reports that
// obj now carries the deletionTimestamp and grace period of a graceful deletion; pending,
// that a graceful deletion is already under way and the request does not shorten it.
// Only pods delete gracefully. A negative grace period counts as 1 s, as upstream.
func (s *Server) beforeDelete(obj runtime.Object, m metav1.Object, opts *DeleteOptions) (graceful, pending bool) {
	one := int64(1)
	if g := opts.GracePeriodSeconds; g != nil && *g < 0 {
		opts.GracePeriodSeconds = &one
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g < 0 {
		m.SetDeletionGracePeriodSeconds(&one)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false, false
	}
	if ts := m.GetDeletionTimestamp(); ts != nil {
		cur := m.GetDeletionGracePeriodSeconds()
		if cur == nil || *cur == 0 {
			return false, false
		}
		if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds >= *cur {
			return false, true
		}
		// Only a shorter grace period may be asked for; the deadline moves with it.
		period := *opts.GracePeriodSeconds
		next := metav1.NewTime(ts.Add(time.Duration(period-*cur) * time.Second))
		m.SetDeletionTimestamp(&next)
		m.SetDeletionGracePeriodSeconds(&period)
		return true, false
	}
	period := podGracePeriod(pod, opts)
	ts := metav1.NewTime(s.clock.Now().Add(time.Duration(period) * time.Second))
	m.SetDeletionTimestamp(&ts)
	m.SetDeletionGracePeriodSeconds(&period)
	if g := m.GetGeneration(); g > 0 {
		m.SetGeneration(g + 1)
	}
	return true, false
}

// podGracePeriod is the pod strategy's CheckGracefulDelete: the request's grace period or
// the pod's terminationGracePeriodSeconds (0 if unset), except unscheduled and terminated
// pods, which go at once; a negative period counts as 1 s.
func podGracePeriod(pod *corev1.Pod, opts *DeleteOptions) int64 {
	period := int64(0)
	if opts.GracePeriodSeconds != nil {
		period = *opts.GracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	return period
}

// markAsDeleting marks an object that cannot be deleted gracefully but has finalizers:
// deletionTimestamp now (unless an earlier one is set), grace period 0, and the
// generation bumped on the first mark.
func (s *Server) markAsDeleting(m metav1.Object) {
	now := s.clock.Now()
	ts := m.GetDeletionTimestamp()
	if ts == nil && m.GetGeneration() > 0 {
		m.SetGeneration(m.GetGeneration() + 1)
	}
	if ts == nil || ts.After(now) {
		t := metav1.NewTime(now)
		m.SetDeletionTimestamp(&t)
	}
	zero := int64(0)
	m.SetDeletionGracePeriodSeconds(&zero)
}

// gcFinalizers is the registry's deletionFinalizersForGarbageCollection: the orphan and
// foregroundDeletion finalizers the request, else the object's own finalizers, else the
// kind's default ask for. It reports whether the set of finalizers changes.
func gcFinalizers(k *model.Kind, m metav1.Object, opts DeleteOptions) (bool, []string) {
	policy := defaultGCPolicy(k)
	orphan, foreground := policy == gcOrphanDependents, false
	explicit := true
	switch {
	case policy == gcUnsupported:
		// Neither finalizer is ever set on such a kind.
	case opts.OrphanDependents != nil:
		orphan = *opts.OrphanDependents
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	default:
		explicit = false
	}
	if !explicit {
		// The first GC finalizer the object carries decides, as upstream's scan.
		for _, f := range m.GetFinalizers() {
			if f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents {
				orphan, foreground = f == metav1.FinalizerOrphanDependents, f == metav1.FinalizerDeleteDependents
				break
			}
		}
	}
	var next []string
	for _, f := range m.GetFinalizers() {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			next = append(next, f)
		}
	}
	if orphan {
		next = append(next, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		next = append(next, metav1.FinalizerDeleteDependents)
	}
	if sameSet(next, m.GetFinalizers()) {
		return false, m.GetFinalizers()
	}
	return true, next
}

// sameSet reports whether a and b hold the same strings, ignoring order and repeats.
func sameSet(a, b []string) bool {
	in := func(s string, list []string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, s := range a {
		if !in(s, b) {
			return false
		}
	}
	for _, s := range b {
		if !in(s, a) {
			return false
		}
	}
	return true
}
