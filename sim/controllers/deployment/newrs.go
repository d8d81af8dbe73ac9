package deployment

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// findNewRS returns the oldest ReplicaSet whose template is the Deployment's, ignoring
// the pod-template-hash label (rsList is sorted oldest first).
func findNewRS(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	for _, rs := range rsList {
		if templatesEqual(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// oldRSs returns every ReplicaSet but the new one.
func oldRSs(rsList []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.UID != newRS.UID {
			out = append(out, rs)
		}
	}
	return out
}

// allReplicaSets splits the Deployment's ReplicaSets into the new one and the old ones,
// bringing the new one's revision (max old revision + 1), annotations and minReadySeconds
// and the Deployment's revision up to date; when create is set and no ReplicaSet has the
// Deployment's template, it creates one.
func (c *Controller) allReplicaSets(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing := findNewRS(d, rsList)
	old := oldRSs(rsList, existing)
	newRS, err := c.newReplicaSet(d, existing, old, create)
	return newRS, old, err
}

func (c *Controller) newReplicaSet(d *appsv1.Deployment, existing *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	newRevision := maxRevision(old) + 1
	if existing != nil {
		next := existing.DeepCopy()
		annotated := setNewRSAnnotations(d, next, newRevision, true)
		if annotated || next.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			next.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			err := c.writeRS(existing, next)
			return existing, err
		}
		metaChanged := setDeploymentRevision(d, existing.Annotations[RevisionAnnotation])
		statusChanged := false
		if hasProgressDeadline(d) && condition(&d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS, fmt.Sprintf("Found new replica set %q", existing.Name)))
			statusChanged = true
		}
		return existing, c.writeDeployment(d, metaChanged, statusChanged)
	}
	if !create {
		return nil, nil
	}
	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	t := d.Spec.Template.DeepCopy()
	t.Labels = withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       d.Namespace,
			Name:            d.Name + "-" + hash,
			Labels:          t.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(0), MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *t},
	}
	count := newRSReplicas(d, append(append([]*appsv1.ReplicaSet(nil), old...), rs), rs)
	rs.Spec.Replicas = ptr(count)
	setNewRSAnnotations(d, rs, newRevision, false)
	alreadyExists := false
	out, err := c.client.Create(rs)
	switch {
	case apierrors.IsAlreadyExists(err):
		alreadyExists = true
		cached, ok := c.rss.Get(rs.Namespace, rs.Name)
		if !ok {
			return nil, fmt.Errorf("replica set %s/%s exists but is not cached yet: %w", rs.Namespace, rs.Name, err)
		}
		got := cached.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOf(got); ref != nil && ref.UID == d.UID && templatesEqual(&d.Spec.Template, &got.Spec.Template) {
			out, err = got.DeepCopy(), nil
			break
		}
		// A hash collision: count it so that the next hash differs, and retry.
		n := int32(1)
		if d.Status.CollisionCount != nil {
			n = *d.Status.CollisionCount + 1
		}
		d.Status.CollisionCount = &n
		if werr := c.writeStatus(d); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("create replica set %s/%s: hash collision: %w", rs.Namespace, rs.Name, err)
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg))
			_ = c.writeStatus(d) // the creation error is the one to report
		}
		c.event(d, corev1.EventTypeWarning, ReasonFailedRSCreate, msg)
		return nil, fmt.Errorf("create replica set %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	created := out.(*appsv1.ReplicaSet)
	if !alreadyExists && count > 0 {
		c.event(d, corev1.EventTypeNormal, ReasonScaling, fmt.Sprintf("Scaled up replica set %s from 0 to %d", created.Name, count))
	}
	metaChanged := setDeploymentRevision(d, strconv.FormatInt(newRevision, 10))
	statusChanged := false
	if !alreadyExists && hasProgressDeadline(d) {
		setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, fmt.Sprintf("Created new replica set %q", created.Name)))
		statusChanged = true
	}
	return created, c.writeDeployment(d, metaChanged, statusChanged)
}

// writeDeployment writes what changed of d: metadata, then status.
func (c *Controller) writeDeployment(d *appsv1.Deployment, meta, status bool) error {
	if meta {
		if err := c.writeMeta(d); err != nil {
			return err
		}
	}
	if status {
		return c.writeStatus(d)
	}
	return nil
}

// setDeploymentRevision sets the Deployment's revision annotation, reporting a change.
func setDeploymentRevision(d *appsv1.Deployment, rev string) bool {
	if d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[RevisionAnnotation] = rev
	return true
}

// withLabel returns a copy of labels with key set to value.
func withLabel(labels map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[key] = value
	return out
}
