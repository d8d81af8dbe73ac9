package apiserver

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/eventlog"
)

// Limits and texts of the Eviction subresource, as kube-apiserver's eviction REST handler.
const (
	// MaxDisruptedPodSize is how many evictions a budget may have approved and not yet seen
	// confirmed by the disruption controller before further evictions are refused.
	MaxDisruptedPodSize = 2000
	// EvictionsRetrySteps bounds the conflict retries of the budget update.
	EvictionsRetrySteps = 20
	// EvictionRetryAfterSeconds is the Retry-After a 429 for a budget still being
	// processed suggests.
	EvictionRetryAfterSeconds = 10
	// ReasonEvictionByEvictionAPI is the DisruptionTarget condition reason an eviction sets.
	ReasonEvictionByEvictionAPI = "EvictionByEvictionAPI"
	// MessageEvictionByEvictionAPI is that condition's message.
	MessageEvictionByEvictionAPI = "Eviction API: evicting"
	// MessageEvictionViolatesBudget is the 429 message of an eviction a budget refuses.
	MessageEvictionViolatesBudget = "Cannot evict pod as it would violate the pod's disruption budget."
	// MessageMultiplePDBs is the 500 message for a pod covered by more than one budget.
	MessageMultiplePDBs = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)

// Evict asks for the eviction of a pod through its policy/v1 Eviction subresource
// (authorised as create on pods/eviction): the pod is deleted, with opts, if no
// PodDisruptionBudget forbids it; a refusing budget answers 429 TooManyRequests.
func (c *Client) Evict(namespace, name string, opts DeleteOptions) error {
	u, err := c.user()
	if err != nil {
		return err
	}
	return c.s.evict(u, namespace, name, opts)
}

func (s *Server) evict(u User, ns, name string, opts DeleteOptions) error {
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	k, _ := model.LookupResource("pods")
	rev, err := s.doEvict(u, k, ns, name, opts)
	if err != nil {
		s.record(u, "create", k, "eviction", ns, name, rev, err)
		return err
	}
	// A successful eviction answers 201 Created, as every create does.
	if s.log != nil {
		s.log.Append(eventlog.Entry{Actor: u.Name, Verb: "create", Resource: "pods/eviction", Namespace: ns, Name: name, Revision: rev, Code: 201})
	}
	return nil
}

func (s *Server) doEvict(u User, k *model.Kind, ns, name string, opts DeleteOptions) (int64, error) {
	cur, err := s.authorizedGet(u, "create", k, "eviction", ns, name)
	if err != nil {
		return 0, err
	}
	pod := cur.Value.(*corev1.Pod)
	// NodeRestriction: a kubelet may only evict the pods bound to its node.
	if node := u.NodeName(); node != "" && pod.Spec.NodeName != node {
		return 0, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/eviction"}, name, fmt.Errorf("node %s can only evict pods with spec.nodeName set to itself", node))
	}
	// Terminal, pending and terminating pods have no budget to respect.
	if canIgnorePDB(pod) {
		if shouldEnforceResourceVersion(pod) && resourceVersionUnset(opts) {
			opts = withResourceVersion(opts, pod.ResourceVersion)
		}
		return s.addConditionAndDelete(k, ns, name, opts)
	}
	pdbs := s.podDisruptionBudgets(pod)
	if len(pdbs) > 1 {
		return 0, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 500, Message: MessageMultiplePDBs}}
	}
	guardedByRV := false
	pdbName := ""
	if len(pdbs) == 1 {
		pdb := pdbs[0]
		pdbName = pdb.Name
		if unhealthyMayGo(pod, pdb) {
			guardedByRV = true
		} else if err := s.checkAndDecrement(pod, pdb); err != nil {
			return 0, err
		}
	}
	delOpts := opts
	if guardedByRV {
		// The pod must not have become ready since it was judged unhealthy.
		delOpts = withResourceVersion(opts, pod.ResourceVersion)
	}
	rev, err := s.addConditionAndDelete(k, ns, name, delOpts)
	if err != nil && apierrors.IsConflict(err) && guardedByRV && resourceVersionUnset(opts) {
		return 0, budgetBeingProcessed(pdbName)
	}
	return rev, err
}

// unhealthyMayGo reports whether an unready pod may be evicted without spending the
// budget: always under AlwaysAllow; under IfHealthyBudget (the default) only while the
// budget is met.
func unhealthyMayGo(pod *corev1.Pod, pdb *policyv1.PodDisruptionBudget) bool {
	if podReady(pod) {
		return false
	}
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
		return true
	}
	return pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// canIgnorePDB: terminal and pending pods disrupt nothing; terminating ones already go.
func canIgnorePDB(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed ||
		p.Status.Phase == corev1.PodPending || p.DeletionTimestamp != nil
}

// shouldEnforceResourceVersion: a pending pod must not have started meanwhile.
func shouldEnforceResourceVersion(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

func resourceVersionUnset(o DeleteOptions) bool {
	return o.Preconditions == nil || o.Preconditions.ResourceVersion == nil
}

// withResourceVersion returns opts with a resourceVersion precondition (opts is not changed).
func withResourceVersion(opts DeleteOptions, rv string) DeleteOptions {
	p := metav1.Preconditions{}
	if opts.Preconditions != nil {
		p = *opts.Preconditions
	}
	p.ResourceVersion = &rv
	opts.Preconditions = &p
	return opts
}

// podDisruptionBudgets returns the budgets in the pod's namespace whose selector matches
// it, in name order (an empty selector matches every pod, as in policy/v1).
func (s *Server) podDisruptionBudgets(pod *corev1.Pod) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	s.rangeResource("poddisruptionbudgets", pod.Namespace, func(obj any) {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			return
		}
		out = append(out, pdb)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// budgetBeingProcessed is the 429 for a budget whose status the controller has not yet
// computed for its current spec.
func budgetBeingProcessed(name string) error {
	err := apierrors.NewTooManyRequests(MessageEvictionViolatesBudget, EvictionRetryAfterSeconds)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type: policyv1.DisruptionBudgetCause, Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", name),
	})
	return err
}

// checkAndDecrement spends one disruption of the budget and records the pod in
// status.disruptedPods, written as the API server's own status update; a conflict is
// retried with the budget read again.
func (s *Server) checkAndDecrement(pod *corev1.Pod, pdb *policyv1.PodDisruptionBudget) error {
	sys := User{Name: SystemUser, Groups: []string{MastersGroup}}
	var err error
	for attempt := 0; attempt < EvictionsRetrySteps; attempt++ {
		if attempt > 0 {
			obj, ok := s.getStored("poddisruptionbudgets", pdb.Namespace, pdb.Name)
			if !ok {
				return apierrors.NewNotFound(schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudgets"}, pdb.Name)
			}
			pdb = obj.(*policyv1.PodDisruptionBudget)
		}
		if err := budgetAllows(pdb); err != nil {
			return err
		}
		next := pdb.DeepCopy()
		next.Status.DisruptionsAllowed--
		if next.Status.DisruptionsAllowed == 0 {
			s.setDisruptionAllowedCondition(next)
		}
		if next.Status.DisruptedPods == nil {
			next.Status.DisruptedPods = map[string]metav1.Time{}
		}
		next.Status.DisruptedPods[pod.Name] = s.now()
		_, err = s.update(sys, next, "status")
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
	return apierrors.NewTimeoutError(fmt.Sprintf("couldn't update PodDisruptionBudget %q due to conflicts", pdb.Name), 10)
}

// budgetAllows checks a budget's status before an eviction spends it.
func budgetAllows(pdb *policyv1.PodDisruptionBudget) error {
	gr := schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudget"}
	switch {
	case pdb.Status.ObservedGeneration < pdb.Generation:
		return budgetBeingProcessed(pdb.Name)
	case pdb.Status.DisruptionsAllowed < 0:
		return apierrors.NewForbidden(gr, pdb.Name, errors.New("pdb disruptions allowed is negative"))
	case len(pdb.Status.DisruptedPods) > MaxDisruptedPodSize:
		return apierrors.NewForbidden(gr, pdb.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	case pdb.Status.DisruptionsAllowed == 0:
		err := apierrors.NewTooManyRequests(MessageEvictionViolatesBudget, 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    policyv1.DisruptionBudgetCause,
			Message: fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy),
		})
		return err
	}
	return nil
}

// setDisruptionAllowedCondition sets the DisruptionAllowed condition from
// status.disruptionsAllowed, as component-helpers' UpdateDisruptionAllowedCondition does,
// with the transition time taken from the virtual clock.
func (s *Server) setDisruptionAllowedCondition(pdb *policyv1.PodDisruptionBudget) {
	c := metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason,
		ObservedGeneration: pdb.Status.ObservedGeneration, LastTransitionTime: s.now(),
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	if pdb.Status.Conditions == nil {
		pdb.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&pdb.Status.Conditions, c)
}

// addConditionAndDelete marks the pod with the DisruptionTarget condition (an internal
// status write, as the eviction handler's) and deletes it through the delete path. It
// returns the revision of the delete.
func (s *Server) addConditionAndDelete(k *model.Kind, ns, name string, opts DeleteOptions) (int64, error) {
	cur, ok := s.store.Get(storageKey(k, ns, name))
	if !ok {
		return 0, apierrors.NewNotFound(k.GroupResource(), name)
	}
	latest := cur.Value.(*corev1.Pod)
	gr := schema.GroupResource{Resource: "Pod"}
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != "" && *p.UID != latest.UID {
			return 0, apierrors.NewConflict(gr, name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, latest.UID))
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != latest.ResourceVersion {
			return 0, apierrors.NewConflict(gr, name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, latest.ResourceVersion))
		}
	}
	next := latest.DeepCopy()
	if updatePodCondition(&next.Status, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonEvictionByEvictionAPI,
		Message: MessageEvictionByEvictionAPI, LastTransitionTime: s.now(),
	}) {
		rev := s.store.Rev() + 1
		next.ResourceVersion = strconv.FormatInt(rev, 10)
		if _, err := s.store.Update(cur.Key, next, cur.ModRevision); err != nil {
			return 0, storeErr(k, name, err)
		}
		if !resourceVersionUnset(opts) {
			// The precondition now refers to the write just made.
			opts = withResourceVersion(opts, next.ResourceVersion)
		}
	}
	// The eviction was authorised; the delete it makes is the API server's own.
	sys := User{Name: SystemUser, Groups: []string{MastersGroup}}
	_, rev, err := s.doDelete(sys, k, ns, name, opts)
	return rev, err
}

// updatePodCondition sets c in status as upstream's UpdatePodCondition: the transition
// time is kept when the status does not change; it reports whether anything changed.
func updatePodCondition(status *corev1.PodStatus, c corev1.PodCondition) bool {
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if c.Status == old.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		same := c.Status == old.Status && c.Reason == old.Reason && c.Message == old.Message &&
			c.LastProbeTime.Equal(&old.LastProbeTime) && c.LastTransitionTime.Equal(&old.LastTransitionTime)
		*old = c
		return !same
	}
	status.Conditions = append(status.Conditions, c)
	return true
}
