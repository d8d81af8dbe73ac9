package garbagecollector

import (
	"fmt"
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
)

// objectReference identifies an object in the graph: its ownerReference coordinates and
// namespace.
type objectReference struct {
	APIVersion, Kind, Name string
	UID                    types.UID
	Namespace              string
}

// String formats the reference as upstream's logs and events do.
func (r objectReference) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// less orders references by kind, apiVersion, namespace, name and UID (upstream's
// referenceLessThan), which also fixes the order dependents are processed in.
func (r objectReference) less(o objectReference) bool {
	switch {
	case r.Kind != o.Kind:
		return r.Kind < o.Kind
	case r.APIVersion != o.APIVersion:
		return r.APIVersion < o.APIVersion
	case r.Namespace != o.Namespace:
		return r.Namespace < o.Namespace
	case r.Name != o.Name:
		return r.Name < o.Name
	}
	return r.UID < o.UID
}

// refOf returns the identity an ownerReference names, in namespace ns.
func refOf(o metav1.OwnerReference, ns string) objectReference {
	return objectReference{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID, Namespace: ns}
}

// matchesCoordinates reports whether an ownerReference names the identity's UID, name,
// kind and API group-version.
func matchesCoordinates(o metav1.OwnerReference, id objectReference) bool {
	return o.UID == id.UID && o.Name == id.Name && o.Kind == id.Kind && o.APIVersion == id.APIVersion
}

// node is one object in the graph.
type node struct {
	identity objectReference
	// dependents are the nodes naming this one as an owner.
	dependents map[*node]struct{}
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// deletingDependents: being deleted with the foregroundDeletion finalizer.
	deletingDependents bool
	beingDeleted       bool
	// virtual: known only from a dependent's ownerReference, not observed yet.
	virtual bool
}

// sortedDependents returns the dependents in identity order.
func (n *node) sortedDependents() []*node {
	out := make([]*node, 0, len(n.dependents))
	for d := range n.dependents {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].identity.less(out[j].identity) })
	return out
}

// blockingDependents are the dependents whose reference to n has blockOwnerDeletion=true.
func (n *node) blockingDependents() []*node {
	var out []*node
	for _, d := range n.sortedDependents() {
		for _, o := range d.owners {
			if o.UID == n.identity.UID && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func hasFinalizer(m metav1.Object, f string) bool {
	for _, x := range m.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

// deletionStarts reports whether obj is being deleted with finalizer f and old was not.
func deletionStarts(old runtime.Object, m metav1.Object, f string) bool {
	if m.GetDeletionTimestamp() == nil || !hasFinalizer(m, f) {
		return false
	}
	if old == nil {
		return true
	}
	om, err := meta.Accessor(old)
	if err != nil {
		return false
	}
	return om.GetDeletionTimestamp() == nil || !hasFinalizer(om, f)
}

// processGraphChange applies one informer event (or a virtual delete, with k nil and obj
// carrying only the identity) to the graph, queueing the work it implies, as upstream's
// processGraphChanges.
func (c *Controller) processGraphChange(k *model.Kind, old, obj runtime.Object, deleted bool) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	id := objectReference{APIVersion: k.GVK.GroupVersion().String(), Kind: k.GVK.Kind, Name: m.GetName(), UID: m.GetUID(), Namespace: m.GetNamespace()}
	existing, found := c.graph[id.UID]
	if found && existing.virtual {
		c.observe(existing, id)
	}
	switch {
	case !deleted && !found:
		n := &node{
			identity: id, dependents: map[*node]struct{}{}, owners: m.GetOwnerReferences(),
			beingDeleted:       m.GetDeletionTimestamp() != nil,
			deletingDependents: m.GetDeletionTimestamp() != nil && hasFinalizer(m, metav1.FinalizerDeleteDependents),
		}
		c.graph[id.UID] = n
		c.addDependentToOwners(n, n.owners)
		c.processTransitions(old, m, n)
	case !deleted:
		added, removed, changed := referencesDiffs(existing.owners, m.GetOwnerReferences())
		if len(added) > 0 || len(removed) > 0 || len(changed) > 0 {
			c.addUnblockedOwnersToDeleteQueue(removed, changed)
			existing.owners = m.GetOwnerReferences()
			c.addDependentToOwners(existing, added)
			c.removeDependentFromOwners(existing, removed)
		}
		if m.GetDeletionTimestamp() != nil {
			existing.beingDeleted = true
		}
		c.processTransitions(old, m, existing)
	case found:
		c.removeNode(existing)
	}
}

// observe turns a virtual node into an observed one; dependents that named it with other
// coordinates are checked again (a namespace mismatch is reported).
func (c *Controller) observe(n *node, id objectReference) {
	if id != n.identity {
		for _, dep := range n.sortedDependents() {
			if matchesAll(dep, id) {
				continue
			}
			if id.Namespace != "" && dep.identity.Namespace != id.Namespace {
				c.reportInvalidNamespaceOwnerRef(dep, id.UID)
			}
			c.enqueueDelete(dep)
		}
		n.identity = id
	}
	n.virtual = false
}

// matchesAll reports whether every reference dep makes to id's UID matches id (and dep
// lives where a namespaced owner can own it).
func matchesAll(dep *node, id objectReference) bool {
	if id.Namespace != "" && dep.identity.Namespace != id.Namespace {
		return false
	}
	for _, o := range dep.owners {
		if o.UID == id.UID && !matchesCoordinates(o, id) {
			return false
		}
	}
	return true
}

// processTransitions queues the owner whose deletion with the orphan or foregroundDeletion
// finalizer has just started.
func (c *Controller) processTransitions(old runtime.Object, m metav1.Object, n *node) {
	if deletionStarts(old, m, metav1.FinalizerOrphanDependents) {
		c.attemptToOrphan.Add(string(n.identity.UID))
		return
	}
	if deletionStarts(old, m, metav1.FinalizerDeleteDependents) {
		n.deletingDependents = true
		for _, d := range n.sortedDependents() {
			c.enqueueDelete(d)
		}
		c.enqueueDelete(n)
	}
}

// addDependentToOwners links n under each owner, creating (and queueing for verification)
// a virtual node for an owner not seen yet; a reference that disagrees with an observed
// owner's coordinates or namespace queues n for verification.
func (c *Controller) addDependentToOwners(n *node, owners []metav1.OwnerReference) {
	suspicious := false
	for _, o := range owners {
		owner, ok := c.graph[o.UID]
		if !ok {
			owner = &node{identity: refOf(o, n.identity.Namespace), dependents: map[*node]struct{}{}, virtual: true}
			c.graph[o.UID] = owner
		}
		owner.dependents[n] = struct{}{}
		if !ok {
			c.enqueueDelete(owner)
			continue
		}
		if suspicious {
			continue
		}
		namespaced := owner.identity.Namespace != ""
		switch {
		case namespaced && owner.identity.Namespace != n.identity.Namespace:
			if !owner.virtual {
				c.reportInvalidNamespaceOwnerRef(n, o.UID)
			}
			suspicious = true
		case !matchesCoordinates(o, owner.identity):
			suspicious = true
		case !namespaced && owner.identity.Namespace != n.identity.Namespace && owner.virtual:
			suspicious = true
		}
	}
	if suspicious {
		c.enqueueDelete(n)
	}
}

func (c *Controller) removeDependentFromOwners(n *node, owners []metav1.OwnerReference) {
	for _, o := range owners {
		if owner, ok := c.graph[o.UID]; ok {
			delete(owner.dependents, n)
		}
	}
}

// removeNode drops an object that is gone: its dependents are checked (their owner may be
// gone for good) and its owners deleting dependents are checked (it may have been the last
// blocking one).
func (c *Controller) removeNode(n *node) {
	delete(c.graph, n.identity.UID)
	c.removeDependentFromOwners(n, n.owners)
	for _, d := range n.sortedDependents() {
		c.enqueueDelete(d)
	}
	for _, o := range n.owners {
		if owner, ok := c.graph[o.UID]; ok && owner.deletingDependents {
			c.enqueueDelete(owner)
		}
	}
}

// virtualDelete handles an identity the API server confirmed absent (upstream's virtual
// delete event): a node whose dependents all name it so is removed; dependents naming it
// by other coordinates keep it, under one of those identities.
func (c *Controller) virtualDelete(id objectReference) {
	existing, ok := c.graph[id.UID]
	if !ok {
		return
	}
	var matching, nonmatching []*node
	for _, d := range existing.sortedDependents() {
		match, mismatch := false, false
		if id.Namespace != "" && d.identity.Namespace != id.Namespace {
			mismatch = true
		} else {
			for _, o := range d.owners {
				if o.UID == id.UID {
					if matchesCoordinates(o, id) {
						match = true
					} else {
						mismatch = true
					}
				}
			}
		}
		if match {
			matching = append(matching, d)
		}
		if mismatch {
			nonmatching = append(nonmatching, d)
		}
	}
	switch {
	case existing.virtual && len(nonmatching) > 0:
		for _, d := range matching {
			c.enqueueDelete(d)
		}
		if existing.identity == id {
			if alt := alternateIdentity(nonmatching, id); alt != nil {
				existing.identity = *alt
				c.enqueueDelete(existing)
			}
		}
	case !existing.virtual && existing.identity != id:
		for _, d := range matching {
			c.enqueueDelete(d)
		}
	default:
		c.removeNode(existing)
	}
}

// alternateIdentity picks another identity the dependents give the absent UID: the first
// after absent in identity order, else the first.
func alternateIdentity(deps []*node, absent objectReference) *objectReference {
	var alts []objectReference
	for _, d := range deps {
		for _, o := range d.owners {
			if o.UID != absent.UID {
				continue
			}
			alt := refOf(o, d.identity.Namespace)
			if absent.Namespace == "" && alt.APIVersion == absent.APIVersion && alt.Kind == absent.Kind {
				// That kind is known to be cluster-scoped.
				alt.Namespace = ""
			}
			if alt != absent {
				alts = append(alts, alt)
			}
		}
	}
	if len(alts) == 0 {
		return nil
	}
	sort.Slice(alts, func(i, j int) bool { return alts[i].less(alts[j]) })
	for i := range alts {
		if absent.less(alts[i]) {
			return &alts[i]
		}
	}
	return &alts[0]
}

// addUnblockedOwnersToDeleteQueue queues the owners a dependent stopped blocking (its
// blocking reference removed, or set to blockOwnerDeletion=false).
func (c *Controller) addUnblockedOwnersToDeleteQueue(removed []metav1.OwnerReference, changed [][2]metav1.OwnerReference) {
	blocks := func(o metav1.OwnerReference) bool { return o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion }
	for _, o := range removed {
		if blocks(o) {
			if n, ok := c.graph[o.UID]; ok {
				c.enqueueDelete(n)
			}
		}
	}
	for _, p := range changed {
		if blocks(p[0]) && !blocks(p[1]) {
			if n, ok := c.graph[p[1].UID]; ok {
				c.enqueueDelete(n)
			}
		}
	}
}

// referencesDiffs compares two ownerReference lists by UID; changed holds (old, new) pairs.
func referencesDiffs(old, cur []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed [][2]metav1.OwnerReference) {
	byUID := map[types.UID]metav1.OwnerReference{}
	for _, o := range old {
		byUID[o.UID] = o
	}
	seen := map[types.UID]bool{}
	for _, o := range cur {
		prev, ok := byUID[o.UID]
		switch {
		case !ok:
			added = append(added, o)
		case !reflect.DeepEqual(prev, o):
			changed = append(changed, [2]metav1.OwnerReference{prev, o})
		}
		seen[o.UID] = true
	}
	for _, o := range old {
		if !seen[o.UID] {
			removed = append(removed, o)
		}
	}
	return added, removed, changed
}

// reportInvalidNamespaceOwnerRef records upstream's Warning on a dependent naming an owner
// that lives in another namespace.
func (c *Controller) reportInvalidNamespaceOwnerRef(n *node, owner types.UID) {
	for _, o := range n.owners {
		if o.UID != owner {
			continue
		}
		k, ok := model.LookupKind(n.identity.APIVersion, n.identity.Kind)
		if !ok {
			return
		}
		obj := k.New()
		m, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		m.SetNamespace(n.identity.Namespace)
		m.SetName(n.identity.Name)
		m.SetUID(n.identity.UID)
		invalid := refOf(o, n.identity.Namespace)
		msg := fmt.Sprintf("ownerRef %s does not exist in namespace %q", invalid, n.identity.Namespace)
		_ = c.recorder.Event(obj, corev1.EventTypeWarning, ReasonOwnerRefInvalidNamespace, msg)
		c.log.Action(c.identity, ReasonOwnerRefInvalidNamespace, k.Resource, n.identity.Namespace, n.identity.Name, msg)
		return
	}
}
