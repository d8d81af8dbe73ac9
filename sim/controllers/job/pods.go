package job

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
)

// Labels the API server's Job strategy adds to a Job's pod template when it generates the
// selector; the controller adds them to its pods when the template lacks them.
const (
	legacyControllerUIDLabel = "controller-uid"
	legacyJobNameLabel       = "job-name"
)

func hasTrackingFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

// removeFinalizer removes the tracking finalizer with a strategic merge patch, as upstream.
func (c *Controller) removeFinalizer(p *corev1.Pod) error {
	if !hasTrackingFinalizer(p) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer}},
	})
	if err != nil {
		return fmt.Errorf("finalizer patch: %w", err)
	}
	if _, err := c.client.Patch("pods", p.Namespace, p.Name, types.StrategicMergePatchType, patch, ""); err != nil {
		return fmt.Errorf("remove tracking finalizer of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// onlyReplaceFailedPods reports whether terminating pods are replaced only once failed.
func onlyReplaceFailedPods(j *batchv1.Job) bool {
	return (j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed) || j.Spec.PodFailurePolicy != nil
}

// isPodFailed reports whether the pod counts as failed: Failed, or being deleted before it
// succeeded unless only failed pods are replaced.
func isPodFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailedPods(j) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil && !isTerminal(p) }

func countTerminating(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if isTerminating(p) {
			n++
		}
	}
	return n
}

func countReady(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if controllers.IsPodReady(p) {
			n++
		}
	}
	return n
}

// rankForRemoval orders pods most-removable first, as upstream's controller.ActivePods:
// unassigned before assigned, pending before unknown before running, not ready before
// ready, more recently ready first, more restarts first, newer first (then name).
func rankForRemoval(pods []*corev1.Pod) {
	phase := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName == ""
		}
		if phase[a.Status.Phase] != phase[b.Status.Phase] {
			return phase[a.Status.Phase] < phase[b.Status.Phase]
		}
		ra, rb := controllers.IsPodReady(a), controllers.IsPodReady(b)
		if ra != rb {
			return !ra
		}
		if ra && rb {
			if ta, tb := readyTime(a), readyTime(b); !ta.Equal(tb) {
				return afterOrZero(ta, tb)
			}
		}
		if ma, mb := maxRestarts(a), maxRestarts(b); ma != mb {
			return ma > mb
		}
		if ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time; !ta.Equal(tb) {
			return afterOrZero(ta, tb)
		}
		return a.Name < b.Name
	})
}

func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

func readyTime(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, s := range p.Status.ContainerStatuses {
		m = max(m, s.RestartCount)
	}
	return m
}

// activePodsForRemoval returns the pods to delete: for an Indexed Job those with no index,
// an index out of range or a repeated index, then the most removable until rmAtLeast.
func activePodsForRemoval(j *batchv1.Job, pods []*corev1.Pod, rmAtLeast int) []*corev1.Pod {
	var rm, left []*corev1.Pod
	if isIndexed(j) {
		rm, left = duplicatedIndexPodsForRemoval(pods, int(*j.Spec.Completions))
	} else {
		left = append(left, pods...)
	}
	if len(rm) < rmAtLeast {
		rankForRemoval(left)
		rm = append(rm, left[:rmAtLeast-len(rm)]...)
	}
	return rm
}

// newPod builds a pod from the (already prepared) template for completion index ix
// (unknownIndex for NonIndexed Jobs).
func newPod(j *batchv1.Job, tmpl *corev1.PodTemplateSpec, ix int, replaced *corev1.Pod) *corev1.Pod {
	t := tmpl.DeepCopy()
	generateName := j.Name + "-"
	if ix != unknownIndex {
		setCompletionIndex(t, ix)
		t.Spec.Hostname = fmt.Sprintf("%s-%d", j.Name, ix)
		generateName = podGenerateNameWithIndex(j.Name, ix)
		if hasBackoffLimitPerIndex(j) {
			t.Annotations[batchv1.JobIndexFailureCountAnnotation] = fmt.Sprint(newIndexFailureCount(replaced))
		}
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		batchv1.ControllerUidLabel: string(j.UID), batchv1.JobNameLabel: j.Name,
		legacyControllerUIDLabel: string(j.UID), legacyJobNameLabel: j.Name,
	} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = v
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       j.Namespace,
			GenerateName:    generateName,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: t.Spec,
	}
}

// createPod creates a pod for the Job and records the event upstream's pod control does.
func (c *Controller) createPod(j *batchv1.Job, pod *corev1.Pod) error {
	created, err := c.client.Create(pod)
	if err != nil {
		msg := fmt.Sprintf("Error creating: %v", err)
		_ = c.recorder.Event(j, corev1.EventTypeWarning, "FailedCreate", msg)
		c.log.Action(c.identity, "FailedCreate", "jobs", j.Namespace, j.Name, msg)
		return fmt.Errorf("create pod for job %s/%s: %w", j.Namespace, j.Name, err)
	}
	msg := "Created pod: " + created.(*corev1.Pod).Name
	_ = c.recorder.Event(j, corev1.EventTypeNormal, "SuccessfulCreate", msg)
	c.log.Action(c.identity, "SuccessfulCreate", "jobs", j.Namespace, j.Name, msg)
	return nil
}

// deletePodOf deletes one of the Job's pods and records the event upstream's pod control
// does; a pod already gone returns the NotFound error without an event.
func (c *Controller) deletePodOf(j *batchv1.Job, p *corev1.Pod) error {
	if _, err := c.client.Delete("pods", p.Namespace, p.Name, apiserver.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		msg := fmt.Sprintf("Error deleting: %v", err)
		_ = c.recorder.Event(j, corev1.EventTypeWarning, "FailedDelete", msg)
		c.log.Action(c.identity, "FailedDelete", "jobs", j.Namespace, j.Name, msg)
		return fmt.Errorf("unable to delete pods: %w", err)
	}
	msg := "Deleted pod: " + p.Name
	_ = c.recorder.Event(j, corev1.EventTypeNormal, "SuccessfulDelete", msg)
	c.log.Action(c.identity, "SuccessfulDelete", "jobs", j.Namespace, j.Name, msg)
	return nil
}

// deleteActivePods deletes pods of a finishing Job keeping their finalizers, so that they
// are counted as failed; it returns how many ready pods and how many pods it deleted.
func (c *Controller) deleteActivePods(j *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	deleted := int32(len(pods))
	var ready int32
	var first error
	for _, p := range pods {
		if err := c.deletePodOf(j, p); err != nil && !apierrors.IsNotFound(err) {
			deleted--
			if first == nil {
				first = err
			}
		}
		if controllers.IsPodReady(p) {
			ready++
		}
	}
	return ready, deleted, first
}

// deleteJobPods removes the tracking finalizer of pods the Job no longer wants (so that
// they are not counted) and deletes them; it returns how many ready pods and how many pods
// it removed.
func (c *Controller) deleteJobPods(key string, j *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	removed := int32(len(pods))
	var ready int32
	var first error
	fail := func(err error) {
		c.deletionObserved(key)
		if !apierrors.IsNotFound(err) {
			removed--
			if first == nil {
				first = err
			}
		}
	}
	for _, p := range pods {
		if err := c.removeFinalizer(p); err != nil {
			fail(fmt.Errorf("removing completion finalizer: %w", err))
			continue
		}
		if err := c.deletePodOf(j, p); err != nil {
			fail(err)
		}
		if controllers.IsPodReady(p) {
			ready++
		}
	}
	return ready, removed, first
}
