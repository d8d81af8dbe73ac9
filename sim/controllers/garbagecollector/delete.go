package garbagecollector

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
)

// errNotObserved requeues a virtual node until an informer shows it or the API server
// confirms it absent.
var errNotObserved = errors.New("item has not been observed by an informer yet")

// errClusterScopedDependent marks a cluster-scoped object naming a namespaced owner: an
// error retrying cannot fix.
var errClusterScopedDependent = errors.New("cluster-scoped object refers to a namespaced owner")

// kindOf maps an identity's apiVersion and kind to a served kind.
func kindOf(apiVersion, kind string) (*model.Kind, error) {
	k, ok := model.LookupKind(apiVersion, kind)
	if !ok {
		return nil, fmt.Errorf("unable to map kind %s, version %s to a resource", kind, apiVersion)
	}
	return k, nil
}

// get reads an object live from the API server.
func (c *Controller) get(id objectReference) (metav1.Object, *model.Kind, error) {
	k, err := kindOf(id.APIVersion, id.Kind)
	if err != nil {
		return nil, nil, err
	}
	ns := id.Namespace
	if !k.Namespaced {
		ns = ""
	}
	obj, err := c.client.Get(k.Resource, ns, id.Name)
	if err != nil {
		return nil, k, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, k, err
	}
	return m, k, nil
}

// attemptToDeleteWorker processes one node of the attemptToDelete queue.
func (c *Controller) attemptToDeleteWorker(key string) error {
	n, ok := c.graph[types.UID(key)]
	if !ok {
		return nil // removed from the graph meanwhile
	}
	err := c.attemptToDeleteItem(n)
	switch {
	case errors.Is(err, errClusterScopedDependent):
		return nil
	case err != nil:
		return fmt.Errorf("garbage collector: %s: %w", n.identity, err)
	case n.virtual:
		return errNotObserved
	}
	return nil
}

// attemptToDeleteItem looks the object up live and deletes it if every owner it names is
// absent, deletes it in the foreground if an owner waits for its dependents and it has
// dependents of its own, or drops references to absent owners if some owner remains. For
// an owner deleting its dependents it removes the finalizer once none blocks.
func (c *Controller) attemptToDeleteItem(n *node) error {
	if n.beingDeleted && !n.deletingDependents {
		return nil // a one-way trip: its dependents are handled when it is gone
	}
	latest, k, err := c.get(n.identity)
	switch {
	case apierrors.IsNotFound(err):
		c.virtualDelete(n.identity)
		return nil
	case err != nil:
		return err
	}
	if latest.GetUID() != n.identity.UID {
		c.virtualDelete(n.identity)
		return nil
	}
	if n.deletingDependents {
		return c.processDeletingDependents(n)
	}
	refs := latest.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	solid, dangling, waiting, err := c.classifyReferences(n, refs)
	if err != nil {
		return err
	}
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// References to absent owners and to owners waiting for their dependents go;
		// the latter would otherwise keep those owners waiting for ever.
		uids := append(uidsOf(dangling), uidsOf(waiting)...)
		return c.patch(n, k, deleteOwnerRefsPatch(n.identity.UID, uids), "RemovedOwnerReferences",
			fmt.Sprintf("Removed ownerReferences to absent or deleting owners %v from %s", uids, n.identity))
	case len(waiting) > 0 && len(n.dependents) > 0:
		for _, d := range n.sortedDependents() {
			if d.deletingDependents {
				// A possible cycle: stop blocking the owners, then go in the foreground.
				if err := c.patch(n, k, unblockOwnerRefsPatch(n), "UnblockedOwnerReferences",
					fmt.Sprintf("Set blockOwnerDeletion=false on the ownerReferences of %s to avoid a cycle", n.identity)); err != nil {
					return err
				}
				break
			}
		}
		return c.deleteObject(n, k, latest, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case hasFinalizer(latest, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case hasFinalizer(latest, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return c.deleteObject(n, k, latest, policy)
	}
}

// processDeletingDependents removes the foregroundDeletion finalizer of an owner no
// dependent blocks any more, or queues the blocking dependents.
func (c *Controller) processDeletingDependents(n *node) error {
	blocking := n.blockingDependents()
	if len(blocking) == 0 {
		return c.removeFinalizer(n, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if !d.deletingDependents {
			c.enqueueDelete(d)
		}
	}
	return nil
}

// classifyReferences sorts an object's references into owners that exist (solid), owners
// that are gone or were replaced under the same name (dangling), and owners being deleted
// in the foreground (waiting). Each owner is read live.
func (c *Controller) classifyReferences(n *node, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		k, err := kindOf(ref.APIVersion, ref.Kind)
		if err != nil {
			return nil, nil, nil, err
		}
		if n.identity.Namespace == "" && k.Namespaced {
			return nil, nil, nil, errClusterScopedDependent
		}
		owner, _, err := c.get(refOf(ref, n.identity.Namespace))
		switch {
		case apierrors.IsNotFound(err):
			dangling = append(dangling, ref)
			continue
		case err != nil:
			return nil, nil, nil, err
		}
		switch {
		case owner.GetUID() != ref.UID:
			dangling = append(dangling, ref)
		case owner.GetDeletionTimestamp() != nil && hasFinalizer(owner, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

func uidsOf(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.UID)
	}
	return out
}

// deleteObject deletes the object with the given policy, on condition of its UID and the
// resourceVersion it was judged at; a conflict caused by changes that left the
// ownerReferences alone is retried without the resourceVersion, so that busy objects are
// still collected.
func (c *Controller) deleteObject(n *node, k *model.Kind, latest metav1.Object, policy metav1.DeletionPropagation) error {
	uid, rv := n.identity.UID, latest.GetResourceVersion()
	opts := apiserver.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}, PropagationPolicy: &policy}
	ns := latest.GetNamespace()
	out, err := c.client.Delete(k.Resource, ns, n.identity.Name, opts)
	if apierrors.IsConflict(err) {
		live, _, gerr := c.get(n.identity)
		if apierrors.IsNotFound(gerr) {
			return nil
		}
		if gerr == nil && live.GetUID() == uid && live.GetResourceVersion() != rv && reflect.DeepEqual(live.GetOwnerReferences(), latest.GetOwnerReferences()) {
			opts.Preconditions.ResourceVersion = nil
			out, err = c.client.Delete(k.Resource, ns, n.identity.Name, opts)
		}
	}
	if apierrors.IsNotFound(err) {
		c.virtualDelete(n.identity)
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete with propagationPolicy %s: %w", policy, err)
	}
	if m, merr := meta.Accessor(out); merr == nil && latest.GetDeletionTimestamp() != nil && m.GetResourceVersion() == rv {
		// The graph had not seen the deletion yet; the request changed nothing.
		return nil
	}
	c.log.Action(c.identity, "DeletingItem", k.Resource, ns, n.identity.Name,
		fmt.Sprintf("Deleting %s with propagationPolicy %s", n.identity, policy))
	return nil
}

// ownerRefsPatch is the metadata of a strategic merge patch of ownerReferences, with the
// object's UID as upstream sends it.
type ownerRefsPatch struct {
	Metadata struct {
		OwnerReferences []any     `json:"ownerReferences"`
		UID             types.UID `json:"uid"`
	} `json:"metadata"`
}

// deleteOwnerRefsPatch removes the ownerReferences with the given UIDs.
func deleteOwnerRefsPatch(uid types.UID, owners []types.UID) []byte {
	var p ownerRefsPatch
	p.Metadata.UID = uid
	for _, o := range owners {
		p.Metadata.OwnerReferences = append(p.Metadata.OwnerReferences, map[string]any{"$patch": "delete", "uid": o})
	}
	b, _ := json.Marshal(p) // strings and UIDs always marshal
	return b
}

// unblockOwnerRefsPatch sets blockOwnerDeletion=false on n's blocking references.
func unblockOwnerRefsPatch(n *node) []byte {
	var p ownerRefsPatch
	p.Metadata.UID = n.identity.UID
	unblocked := false
	for _, o := range n.owners {
		if o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
			ref := o
			ref.BlockOwnerDeletion = &unblocked
			p.Metadata.OwnerReferences = append(p.Metadata.OwnerReferences, ref)
		}
	}
	b, _ := json.Marshal(p)
	return b
}

// patch applies a strategic merge patch to n's object and logs the action.
func (c *Controller) patch(n *node, k *model.Kind, data []byte, reason, msg string) error {
	if _, err := c.client.Patch(k.Resource, n.identity.Namespace, n.identity.Name, types.StrategicMergePatchType, data, ""); err != nil {
		return fmt.Errorf("patch ownerReferences: %w", err)
	}
	c.log.Action(c.identity, reason, k.Resource, n.identity.Namespace, n.identity.Name, msg)
	return nil
}
