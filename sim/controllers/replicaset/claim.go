package replicaset

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/controllers"
)

// claimPods is upstream's ClaimPods: the ReplicaSet keeps its pods that still match its
// selector, releases (removes its controller reference from) those that no longer do, and
// adopts orphan pods of its namespace that match. It returns the pods it controls after.
func (c *Controller) claimPods(rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("replicaset %s/%s: selector: %w", rs.Namespace, rs.Name, err)
	}
	var out []*corev1.Pod
	for _, o := range c.pods.ByIndex(controllers.IndexNamespace, rs.Namespace) {
		pod := o.(*corev1.Pod)
		ref := metav1.GetControllerOf(pod)
		matches := sel.Matches(labels.Set(pod.Labels))
		switch {
		case ref != nil && ref.UID == rs.UID:
			if matches || rs.DeletionTimestamp != nil {
				out = append(out, pod)
				continue
			}
			if err := c.release(rs, pod); err != nil {
				return nil, err
			}
		case ref == nil && matches && pod.DeletionTimestamp == nil && rs.DeletionTimestamp == nil && !sel.Empty():
			adopted, err := c.adopt(rs, pod)
			if err != nil {
				return nil, err
			}
			if adopted != nil {
				out = append(out, adopted)
			}
		}
	}
	return out, nil
}

// adopt adds the ReplicaSet as the pod's controller, after checking with a live read that
// the ReplicaSet is the same and not being deleted (upstream's canAdopt recheck).
func (c *Controller) adopt(rs *appsv1.ReplicaSet, pod *corev1.Pod) (*corev1.Pod, error) {
	fresh, err := c.client.Get("replicasets", rs.Namespace, rs.Name)
	if err != nil {
		return nil, fmt.Errorf("adopt %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if f := fresh.(*appsv1.ReplicaSet); f.UID != rs.UID || f.DeletionTimestamp != nil {
		return nil, nil
	}
	ref := metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*ref},
		"uid":             pod.UID,
	}})
	obj, err := c.client.Patch("pods", pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, "")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopt %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.log.Action(c.identity, "AdoptedPod", "replicasets", rs.Namespace, rs.Name, "Adopted pod: "+pod.Name)
	return obj.(*corev1.Pod), nil
}

// release removes the ReplicaSet's controller reference from a pod its selector no longer
// matches, orphaning it.
func (c *Controller) release(rs *appsv1.ReplicaSet, pod *corev1.Pod) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": rs.UID}},
		"uid":             pod.UID,
	}})
	_, err := c.client.Patch("pods", pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, "")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.log.Action(c.identity, "ReleasedPod", "replicasets", rs.Namespace, rs.Name, "Released pod: "+pod.Name)
	return nil
}

// matchingReplicaSets returns the keys of the ReplicaSets of an orphan pod's namespace
// whose selector matches it: the ones that may adopt it.
func (c *Controller) matchingReplicaSets(obj runtime.Object) []string {
	pod := obj.(*corev1.Pod)
	if metav1.GetControllerOf(pod) != nil || pod.DeletionTimestamp != nil {
		return nil
	}
	var keys []string
	for _, o := range c.rss.ByIndex(controllers.IndexNamespace, pod.Namespace) {
		rs := o.(*appsv1.ReplicaSet)
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		keys = append(keys, rs.Namespace+"/"+rs.Name)
	}
	return keys
}
