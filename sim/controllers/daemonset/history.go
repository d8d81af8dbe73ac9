package daemonset

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/dump"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
)

// ComputeHash is upstream's controller.ComputeHash: FNV-32a over the template's
// deterministic dump (with the collision count appended as 8 little-endian bytes when
// set), encoded in Kubernetes' safe alphabet. It names the ControllerRevisions and fills
// the controller-revision-hash label.
func ComputeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// revisionPatch is what a ControllerRevision stores: a patch that restores spec.template
// ({"spec":{"template":{...,"$patch":"replace"}}}), as upstream's getPatch.
func revisionPatch(ds *appsv1.DaemonSet) ([]byte, error) {
	b, err := json.Marshal(ds.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("encode template of DaemonSet %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	var template map[string]any
	if err := json.Unmarshal(b, &template); err != nil {
		return nil, fmt.Errorf("decode template of DaemonSet %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}

// matchRevision reports whether a revision holds the DaemonSet's current template.
func matchRevision(patch []byte, cr *appsv1.ControllerRevision) bool {
	return bytes.Equal(patch, cr.Data.Raw)
}

// constructHistory returns the DaemonSet's current revision (created, deduplicated or
// renumbered as needed) and its old revisions, as upstream's constructHistory.
func (c *Controller) constructHistory(ds *appsv1.DaemonSet) (cur *appsv1.ControllerRevision, old []*appsv1.ControllerRevision, err error) {
	patch, err := revisionPatch(ds)
	if err != nil {
		return nil, nil, err
	}
	var current []*appsv1.ControllerRevision
	for _, o := range c.revisions.ByIndex(controllers.IndexOwner, string(ds.UID)) {
		cr := o.(*appsv1.ControllerRevision)
		if _, ok := cr.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; !ok {
			// The name is the hash: label it so pods can be matched without rehashing.
			next := cr.DeepCopy()
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = next.Name
			updated, err := c.client.Update(next)
			if err != nil {
				return nil, nil, fmt.Errorf("label revision %s: %w", cr.Name, err)
			}
			cr = updated.(*appsv1.ControllerRevision)
		}
		if matchRevision(patch, cr) {
			current = append(current, cr)
		} else {
			old = append(old, cr)
		}
	}
	next := maxRevision(old) + 1
	if len(current) == 0 {
		cur, err = c.snapshot(ds, patch, next)
		return cur, old, err
	}
	cur, err = c.dedupCurrent(ds, current)
	if err != nil {
		return nil, nil, err
	}
	if cur.Revision < next {
		// A rollback to an older template: it becomes the newest revision.
		up := cur.DeepCopy()
		up.Revision = next
		updated, err := c.client.Update(up)
		if err != nil {
			return nil, nil, fmt.Errorf("renumber revision %s: %w", cur.Name, err)
		}
		cur = updated.(*appsv1.ControllerRevision)
	}
	return cur, old, nil
}

func maxRevision(crs []*appsv1.ControllerRevision) int64 {
	var m int64
	for _, cr := range crs {
		m = max(m, cr.Revision)
	}
	return m
}

// snapshot creates the revision of the current template. A name taken by a different
// template is a hash collision: the DaemonSet's collisionCount is raised, as upstream,
// and the sync retried.
func (c *Controller) snapshot(ds *appsv1.DaemonSet, patch []byte, revision int64) (*appsv1.ControllerRevision, error) {
	hash := ComputeHash(&ds.Spec.Template, ds.Status.CollisionCount)
	labels := map[string]string{}
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ds.Name + "-" + hash,
			Namespace:       ds.Namespace,
			Labels:          labels,
			Annotations:     ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: revision,
	}
	created, err := c.client.Create(cr)
	if err == nil {
		return created.(*appsv1.ControllerRevision), nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create revision %s: %w", cr.Name, err)
	}
	existing, gerr := c.client.Get("controllerrevisions", ds.Namespace, cr.Name)
	if gerr != nil {
		return nil, fmt.Errorf("get revision %s: %w", cr.Name, gerr)
	}
	if ex := existing.(*appsv1.ControllerRevision); matchRevision(patch, ex) {
		return ex, nil
	}
	obj, gerr := c.client.Get("daemonsets", ds.Namespace, ds.Name)
	if gerr != nil {
		return nil, fmt.Errorf("get DaemonSet %s/%s: %w", ds.Namespace, ds.Name, gerr)
	}
	fresh := obj.(*appsv1.DaemonSet).DeepCopy()
	if !equality.Semantic.DeepEqual(fresh.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("found a stale collision count of DaemonSet %q while processing; will retry until it is updated", ds.Name)
	}
	n := int32(1)
	if fresh.Status.CollisionCount != nil {
		n = *fresh.Status.CollisionCount + 1
	}
	fresh.Status.CollisionCount = &n
	if _, uerr := c.client.UpdateStatus(fresh); uerr != nil {
		return nil, fmt.Errorf("raise collision count of DaemonSet %s/%s: %w", ds.Namespace, ds.Name, uerr)
	}
	return nil, fmt.Errorf("hash collision on revision %s: %w", cr.Name, err)
}

// dedupCurrent keeps the newest of several revisions holding the current template,
// relabels the pods of the others to its hash and deletes them.
func (c *Controller) dedupCurrent(ds *appsv1.DaemonSet, current []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	keep := current[0]
	for _, cr := range current[1:] {
		if cr.Revision > keep.Revision {
			keep = cr
		}
	}
	hash := keep.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	for _, cr := range current {
		if cr.Name == keep.Name {
			continue
		}
		for _, p := range c.ownedPods(ds) {
			if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
				continue
			}
			next := p.DeepCopy()
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
			if _, err := c.client.Update(next); err != nil {
				return nil, fmt.Errorf("relabel pod %s: %w", p.Name, err)
			}
		}
		if _, err := c.client.Delete("controllerrevisions", cr.Namespace, cr.Name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete duplicate revision %s: %w", cr.Name, err)
		}
	}
	return keep, nil
}

// cleanupHistory deletes the oldest revisions beyond revisionHistoryLimit, sparing those
// a live pod (even a terminating one) still carries the hash of.
func (c *Controller) cleanupHistory(ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision) error {
	limit := int(model.DefaultRevisionHistoryLimit)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	toKill := len(old) - limit
	if toKill <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, p := range c.ownedPods(ds) {
		if h := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
			live[h] = true
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Revision != sorted[j].Revision {
			return sorted[i].Revision < sorted[j].Revision
		}
		return sorted[i].Name < sorted[j].Name
	})
	for _, cr := range sorted {
		if toKill <= 0 {
			break
		}
		if live[cr.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			continue
		}
		if _, err := c.client.Delete("controllerrevisions", cr.Namespace, cr.Name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s: %w", cr.Name, err)
		}
		toKill--
	}
	return nil
}
