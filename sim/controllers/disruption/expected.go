package disruption

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// expectedPodCount returns how many pods the budget expects and how many must be
// healthy, as upstream's getExpectedPodCount: an integer minAvailable expects the pods
// found; a percentage minAvailable, or any maxUnavailable, expects the sum of the scales
// of the pods' controllers, and percentages round up. Pods without a controller are
// returned, not counted.
func (c *Controller) expectedPodCount(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = c.expectedScale(pods)
		if err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.String:
		expected, unmanaged, err = c.expectedScale(pods)
		if err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, unmanaged, nil
}

// expectedScale sums the scale of every controller of the pods (each counted once).
func (c *Controller) expectedScale(pods []*corev1.Pod) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, seen := scales[ref.UID]; seen {
			continue
		}
		found := false
		for _, finder := range []func(*metav1.OwnerReference, string) (types.UID, int32, bool, error){
			c.replicationController, c.deployment, c.replicaSet, c.statefulSet,
		} {
			uid, scale, ok, err := finder(ref, p.Namespace)
			if err != nil {
				return 0, nil, err
			}
			if ok {
				scales[uid] = scale
				found = true
				break
			}
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
	}
	var sum int32
	for _, s := range scales {
		sum += s
	}
	return sum, unmanaged, nil
}

// isKind reports whether the reference is to kind in one of groups.
func isKind(ref *metav1.OwnerReference, kind string, groups ...string) (bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, err
	}
	if ref.Kind != kind {
		return false, nil
	}
	for _, g := range groups {
		if gv.Group == g {
			return true, nil
		}
	}
	return false, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// replicaSet finds a ReplicaSet that no Deployment controls.
func (c *Controller) replicaSet(ref *metav1.OwnerReference, ns string) (types.UID, int32, bool, error) {
	rs, err := c.ownerReplicaSet(ref, ns)
	if rs == nil || err != nil {
		return "", 0, false, err
	}
	if owner := metav1.GetControllerOf(rs); owner != nil && owner.Kind == "Deployment" {
		return "", 0, false, nil
	}
	return rs.UID, replicas(rs.Spec.Replicas), true, nil
}

// deployment finds the Deployment controlling the pod's ReplicaSet.
func (c *Controller) deployment(ref *metav1.OwnerReference, ns string) (types.UID, int32, bool, error) {
	rs, err := c.ownerReplicaSet(ref, ns)
	if rs == nil || err != nil {
		return "", 0, false, err
	}
	owner := metav1.GetControllerOf(rs)
	if owner == nil {
		return "", 0, false, nil
	}
	if ok, err := isKind(owner, "Deployment", "apps", "extensions"); !ok || err != nil {
		return "", 0, false, err
	}
	obj, found := c.deploys.Get(ns, owner.Name)
	if !found || obj.(*appsv1.Deployment).UID != owner.UID {
		return "", 0, false, nil
	}
	d := obj.(*appsv1.Deployment)
	return d.UID, replicas(d.Spec.Replicas), true, nil
}

func (c *Controller) ownerReplicaSet(ref *metav1.OwnerReference, ns string) (*appsv1.ReplicaSet, error) {
	if ok, err := isKind(ref, "ReplicaSet", "apps", "extensions"); !ok || err != nil {
		return nil, err
	}
	obj, found := c.rss.Get(ns, ref.Name)
	if !found || obj.(*appsv1.ReplicaSet).UID != ref.UID {
		return nil, nil
	}
	return obj.(*appsv1.ReplicaSet), nil
}

func (c *Controller) statefulSet(ref *metav1.OwnerReference, ns string) (types.UID, int32, bool, error) {
	if c.sets == nil {
		return "", 0, false, nil
	}
	if ok, err := isKind(ref, "StatefulSet", "apps"); !ok || err != nil {
		return "", 0, false, err
	}
	obj, found := c.sets.Get(ns, ref.Name)
	if !found {
		return "", 0, false, nil
	}
	ss, ok := obj.(*appsv1.StatefulSet)
	if !ok || ss.UID != ref.UID {
		return "", 0, false, nil
	}
	return ss.UID, replicas(ss.Spec.Replicas), true, nil
}

func (c *Controller) replicationController(ref *metav1.OwnerReference, ns string) (types.UID, int32, bool, error) {
	if c.rcs == nil {
		return "", 0, false, nil
	}
	if ok, err := isKind(ref, "ReplicationController", ""); !ok || err != nil {
		return "", 0, false, err
	}
	obj, found := c.rcs.Get(ns, ref.Name)
	if !found {
		return "", 0, false, nil
	}
	rc, ok := obj.(*corev1.ReplicationController)
	if !ok || rc.UID != ref.UID {
		return "", 0, false, nil
	}
	return rc.UID, replicas(rc.Spec.Replicas), true, nil
}
