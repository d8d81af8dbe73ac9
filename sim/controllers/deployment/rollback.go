package deployment

import (
	"errors"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// getRollbackTo returns the revision asked for by the deprecated.deployment.rollback.to
// annotation (how apps/v1 round-trips the old spec.rollbackTo), or nil.
func getRollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[appsv1.DeprecatedRollbackTo]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil // upstream ignores an invalid one
	}
	return &n
}

// rollback performs a rollback asked for by annotation, as upstream's controller does:
// copy the template of the ReplicaSet of that revision (0: the previous one) into the
// Deployment, record DeploymentRollback, and clear the request.
func (c *Controller) rollback(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := c.allReplicaSets(d, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	to := *getRollbackTo(d)
	if to == 0 {
		if to = lastRevision(all); to == 0 {
			c.event(d, corev1.EventTypeWarning, ReasonRollbackNotFound, "Unable to find last revision.")
			return c.clearRollbackTo(d)
		}
	}
	for _, rs := range all {
		if v, err := revision(rs); err != nil || v != to {
			continue
		}
		if templatesEqual(&d.Spec.Template, &rs.Spec.Template) {
			c.event(d, corev1.EventTypeWarning, ReasonRollbackSameTemplate, fmt.Sprintf("The rollback revision contains the same template as current deployment %q", d.Name))
			return c.clearRollbackTo(d)
		}
		setFromTemplate(d, rs)
		if err := c.clearRollbackTo(d); err != nil {
			return err
		}
		c.event(d, corev1.EventTypeNormal, ReasonRollbackDone, fmt.Sprintf("Rolled back deployment %q to revision %d", d.Name, to))
		return nil
	}
	c.event(d, corev1.EventTypeWarning, ReasonRollbackNotFound, "Unable to find the revision to rollback to.")
	return c.clearRollbackTo(d)
}

// clearRollbackTo removes the rollback request and writes the Deployment.
func (c *Controller) clearRollbackTo(d *appsv1.Deployment) error {
	delete(d.Annotations, appsv1.DeprecatedRollbackTo)
	return c.writeMeta(d)
}

// setFromTemplate copies a ReplicaSet's pod template into the Deployment without the
// pod-template-hash label, and the ReplicaSet's annotations (but the controller's own)
// over the Deployment's, as upstream's SetFromReplicaSetTemplate and
// SetDeploymentAnnotationsTo.
func setFromTemplate(d *appsv1.Deployment, rs *appsv1.ReplicaSet) {
	t := rs.Spec.Template.DeepCopy()
	delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	d.Spec.Template = *t
	kept := map[string]string{}
	for k, v := range d.Annotations {
		if annotationsToSkip[k] {
			kept[k] = v
		}
	}
	for k, v := range rs.Annotations {
		if !annotationsToSkip[k] {
			kept[k] = v
		}
	}
	d.Annotations = kept
}

// ErrRollbackPaused is returned by Undo for a paused Deployment, as kubectl refuses it.
var ErrRollbackPaused = errors.New("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again")

// Undo rolls a Deployment back to revision toRevision (0: the previous revision) as
// `kubectl rollout undo` does against apps/v1, through client: it finds the Deployment's
// ReplicaSet of that revision and writes its pod template (without the pod-template-hash
// label) and annotations into the Deployment; the controller then scales that ReplicaSet
// back up and gives it the newest revision. Rolling back to the current template changes
// nothing.
func Undo(client *apiserver.Client, namespace, name string, toRevision int64) error {
	if toRevision < 0 {
		return fmt.Errorf("undo deployment %s/%s: revision %d must be non-negative", namespace, name, toRevision)
	}
	obj, err := client.Get("deployments", namespace, name)
	if err != nil {
		return fmt.Errorf("undo deployment %s/%s: %w", namespace, name, err)
	}
	d := obj.(*appsv1.Deployment)
	if d.Spec.Paused {
		return fmt.Errorf("undo deployment %s/%s: %w", namespace, name, ErrRollbackPaused)
	}
	res, err := client.List("replicasets", namespace, apiserver.Filter{}, false)
	if err != nil {
		return fmt.Errorf("undo deployment %s/%s: list replica sets: %w", namespace, name, err)
	}
	var all []*appsv1.ReplicaSet
	for _, o := range res.Items {
		if rs := o.(*appsv1.ReplicaSet); metav1.IsControlledBy(rs, d) {
			all = append(all, rs)
		}
	}
	target, err := revisionToUndo(d, all, toRevision)
	if err != nil {
		return fmt.Errorf("undo deployment %s/%s: %w", namespace, name, err)
	}
	if templatesEqual(&target.Spec.Template, &d.Spec.Template) {
		return nil // kubectl: "skipped rollback (current template already matches revision N)"
	}
	next := d.DeepCopy()
	setFromTemplate(next, target)
	if _, err := client.Update(next); err != nil {
		return fmt.Errorf("undo deployment %s/%s: %w", namespace, name, err)
	}
	return nil
}

// revisionToUndo finds the ReplicaSet of revision to, or for 0 the one of the second
// highest revision, as kubectl's deploymentRevision.
func revisionToUndo(d *appsv1.Deployment, all []*appsv1.ReplicaSet, to int64) (*appsv1.ReplicaSet, error) {
	var latest, previous *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for _, rs := range all {
		v, err := revision(rs)
		if err != nil {
			continue
		}
		switch {
		case to > 0:
			if v == to {
				return rs, nil
			}
		case v > latestRev:
			previousRev, previous = latestRev, latest
			latestRev, latest = v, rs
		case v > previousRev:
			previousRev, previous = v, rs
		}
	}
	if to > 0 {
		return nil, fmt.Errorf("unable to find specified revision %d in history", to)
	}
	if previous == nil {
		return nil, fmt.Errorf("no rollout history found for deployment %q", d.Name)
	}
	return previous, nil
}
