package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

func (c *Controller) sync(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.pdbs.Get(ns, name)
	if !ok {
		return nil
	}
	pdb := obj.(*policyv1.PodDisruptionBudget)
	err := c.trySync(pdb)
	// A conflict is retried without giving up on the budget.
	if err == nil || apierrors.IsConflict(err) {
		return err
	}
	c.log.Action(c.identity, policyv1.SyncFailedReason, "poddisruptionbudgets", ns, name, fmt.Sprintf("Failed to sync PDB: %v", err))
	return c.failSafe(pdb, err)
}

func (c *Controller) trySync(pdb *policyv1.PodDisruptionBudget) error {
	pods, err := c.podsForPdb(pdb)
	if err != nil {
		_ = c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return err
	}
	if len(pods) == 0 {
		_ = c.recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := c.expectedPodCount(pdb, pods)
	if err != nil {
		_ = c.recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	if len(unmanaged) > 0 {
		_ = c.recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" "+
			"field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	now := c.clock.Now()
	disrupted, recheck := c.disruptedPodMap(pods, pdb, now)
	healthy := c.countHealthy(pods, disrupted, now)
	if err := c.updateStatus(pdb, healthy, desired, expected, disrupted); err != nil {
		return err
	}
	if recheck != nil {
		c.queue.AddAfter(informer.Key(pdb), recheck.Sub(now)+RecheckDelay)
	}
	return nil
}

// countHealthy counts the ready pods that are neither being deleted nor approved for an
// eviction within the deletion timeout.
func (c *Controller) countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if at, ok := disrupted[p.Name]; ok && at.Add(c.timeout).After(now) {
			continue
		}
		if controllers.IsPodReady(p) {
			n++
		}
	}
	return n
}

// disruptedPodMap keeps the approved evictions still awaited: entries of pods being
// deleted or gone are dropped, and so are those past the deletion timeout (with a
// NotDeleted event). It returns when the earliest remaining entry expires.
func (c *Controller) disruptedPodMap(pods []*corev1.Pod, pdb *policyv1.PodDisruptionBudget, now time.Time) (map[string]metav1.Time, *time.Time) {
	out := map[string]metav1.Time{}
	var recheck *time.Time
	if pdb.Status.DisruptedPods == nil {
		return out, nil
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		at, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok {
			continue
		}
		expected := at.Add(c.timeout)
		if expected.Before(now) {
			// Upstream prints the budget's namespace twice; the message keeps that.
			_ = c.recorder.Eventf(p, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Namespace)
			continue
		}
		if recheck == nil || expected.Before(*recheck) {
			recheck = &expected
		}
		out[p.Name] = at
	}
	return out, recheck
}

func (c *Controller) updateStatus(pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]metav1.Time) error {
	// No budget is spent while no pod is expected: a new budget is safe until computed.
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := pdb.Status
	if st.CurrentHealthy == healthy && st.DesiredHealthy == desired && st.ExpectedPods == expected &&
		st.DisruptionsAllowed == allowed && equality.Semantic.DeepEqual(st.DisruptedPods, disrupted) &&
		st.ObservedGeneration == pdb.Generation && pdbhelper.ConditionsAreUpToDate(pdb) {
		return nil
	}
	next := pdb.DeepCopy()
	next.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected, DisruptionsAllowed: allowed,
		DisruptedPods: disrupted, ObservedGeneration: pdb.Generation, Conditions: next.Status.Conditions,
	}
	c.setAllowedCondition(next)
	_, err := c.client.UpdateStatus(next)
	return err
}

// failSafe sets disruptionsAllowed to 0 and the SyncFailed condition, so that no eviction
// is approved on a status the controller could not compute.
func (c *Controller) failSafe(pdb *policyv1.PodDisruptionBudget, cause error) error {
	next := pdb.DeepCopy()
	next.Status.DisruptionsAllowed = 0
	if next.Status.Conditions == nil {
		next.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason,
		Message: cause.Error(), ObservedGeneration: next.Status.ObservedGeneration, LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	_, err := c.client.UpdateStatus(next)
	return err
}

// setAllowedCondition is component-helpers' UpdateDisruptionAllowedCondition with the
// transition time taken from the virtual clock.
func (c *Controller) setAllowedCondition(pdb *policyv1.PodDisruptionBudget) {
	cond := metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason,
		ObservedGeneration: pdb.Status.ObservedGeneration, LastTransitionTime: metav1.NewTime(c.clock.Now()),
	}
	if pdb.Status.DisruptionsAllowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	if pdb.Status.Conditions == nil {
		pdb.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&pdb.Status.Conditions, cond)
}
