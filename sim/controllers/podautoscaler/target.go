package podautoscaler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/informer"
)

// scale is the scale subresource of a target as upstream reads it: spec and status
// replicas and the pod selector (from spec.selector, as the apps registry builds it).
type scale struct {
	resource       string
	specReplicas   int32
	statusReplicas int32
	selector       string
}

// getScale reads the HPA's target from the informers. Only apps Deployments and
// ReplicaSets are scale targets in Orrery.
func (c *Controller) getScale(h *autoscalingv2.HorizontalPodAutoscaler) (*scale, error) {
	ref := h.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	var sel *metav1.LabelSelector
	s := &scale{}
	switch {
	case gv.Group == appsv1.GroupName && ref.Kind == "Deployment":
		obj, ok := c.deploys.Get(h.Namespace, ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: appsv1.GroupName, Resource: "deployments"}, ref.Name)
		}
		d := obj.(*appsv1.Deployment)
		s.resource, s.specReplicas, s.statusReplicas, sel = "deployments", replicasOf(d.Spec.Replicas), d.Status.Replicas, d.Spec.Selector
	case gv.Group == appsv1.GroupName && ref.Kind == "ReplicaSet":
		obj, ok := c.rss.Get(h.Namespace, ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: appsv1.GroupName, Resource: "replicasets"}, ref.Name)
		}
		rs := obj.(*appsv1.ReplicaSet)
		s.resource, s.specReplicas, s.statusReplicas, sel = "replicasets", replicasOf(rs.Spec.Replicas), rs.Status.Replicas, rs.Spec.Selector
	default:
		return nil, fmt.Errorf("no matches for kind %q in group %q (Orrery scales Deployments and ReplicaSets)", ref.Kind, gv.Group)
	}
	if sel != nil {
		parsed, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("target selector: %w", err)
		}
		s.selector = parsed.String()
	}
	return s, nil
}

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// updateScale writes the target's spec.replicas, as an update of the scale subresource
// does: a merge patch without a resourceVersion precondition.
func (c *Controller) updateScale(h *autoscalingv2.HorizontalPodAutoscaler, s *scale, replicas int32) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	_, err := c.client.Patch(s.resource, h.Namespace, h.Spec.ScaleTargetRef.Name, types.MergePatchType, patch, "")
	return err
}

// podsFor lists the pods in namespace that selector matches, in name order.
func (c *Controller) podsFor(namespace string, selector labels.Selector) []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range c.pods.ByIndex(IndexNamespace, namespace) {
		if p := obj.(*corev1.Pod); selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// parseSelector is upstream's validateAndParseSelector: the target must have a selector,
// it must parse, and the pods it selects must not be claimed by another HPA's target.
func (c *Controller) parseSelector(key string, h *autoscalingv2.HorizontalPodAutoscaler, selector string) (labels.Selector, error) {
	if selector == "" {
		msg := "selector is required"
		c.event(h, corev1.EventTypeWarning, "SelectorRequired", msg)
		c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return nil, errors.New(msg)
	}
	parsed, err := labels.Parse(selector)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		c.event(h, corev1.EventTypeWarning, "InvalidSelector", msg)
		c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "%s", msg)
		return nil, errors.New(msg)
	}
	if _, ok := c.selectors[key]; ok {
		c.selectors[key] = parsed
	}
	pods := c.podsFor(h.Namespace, parsed)
	var claimants []string
	for other, sel := range c.selectors {
		ns, _ := informer.SplitKey(other)
		if ns != h.Namespace {
			continue
		}
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				claimants = append(claimants, other)
				break
			}
		}
	}
	if len(claimants) > 1 {
		sort.Strings(claimants)
		msg := fmt.Sprintf("pods by selector %v are controlled by multiple HPAs: [%s]", selector, strings.Join(claimants, " "))
		c.event(h, corev1.EventTypeWarning, "AmbiguousSelector", msg)
		c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "AmbiguousSelector", "%s", msg)
		return nil, errors.New(msg)
	}
	return parsed, nil
}
