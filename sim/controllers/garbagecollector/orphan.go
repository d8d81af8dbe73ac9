package garbagecollector

import (
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// attemptToOrphanWorker removes the owner's ownerReferences from its dependents, then the
// owner's orphan finalizer; a failure retries the whole step.
func (c *Controller) attemptToOrphanWorker(key string) error {
	owner, ok := c.graph[types.UID(key)]
	if !ok {
		return nil
	}
	var errs []error
	for _, d := range owner.sortedDependents() {
		k, err := kindOf(d.identity.APIVersion, d.identity.Kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = c.patch(d, k, deleteOwnerRefsPatch(d.identity.UID, []types.UID{owner.identity.UID}), "OrphanedDependent",
			fmt.Sprintf("Removed the ownerReference to %s (deleted with the orphan finalizer)", owner.identity))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("orphaning %s: %w", d.identity, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("orphan dependents of %s: %v", owner.identity, errs)
	}
	return c.removeFinalizer(owner, metav1.FinalizerOrphanDependents)
}

// finalizersPatch is the JSON merge patch that sets an object's finalizers, conditional on
// the resourceVersion they were read at.
type finalizersPatch struct {
	Metadata struct {
		ResourceVersion string   `json:"resourceVersion"`
		Finalizers      []string `json:"finalizers"`
	} `json:"metadata"`
}

// removeFinalizer removes finalizer f from the owner's live object, retrying conflicts up
// to FinalizerRemovalAttempts times; an object already gone, or without f, is done.
func (c *Controller) removeFinalizer(n *node, f string) error {
	var err error
	for attempt := 0; attempt < FinalizerRemovalAttempts; attempt++ {
		err = c.tryRemoveFinalizer(n, f)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("remove finalizer %s from %s after %d attempts: %w", f, n.identity, FinalizerRemovalAttempts, err)
}

func (c *Controller) tryRemoveFinalizer(n *node, f string) error {
	obj, k, err := c.get(n.identity)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("cannot finalize %s: %w", n.identity, err)
	}
	var p finalizersPatch
	found := false
	for _, x := range obj.GetFinalizers() {
		if x == f {
			found = true
			continue
		}
		p.Metadata.Finalizers = append(p.Metadata.Finalizers, x)
	}
	if !found {
		return nil
	}
	p.Metadata.ResourceVersion = obj.GetResourceVersion()
	data, _ := json.Marshal(p) // strings always marshal
	if _, err := c.client.Patch(k.Resource, obj.GetNamespace(), n.identity.Name, types.MergePatchType, data, ""); err != nil {
		return err
	}
	c.log.Action(c.identity, "RemovedFinalizer", k.Resource, obj.GetNamespace(), n.identity.Name,
		fmt.Sprintf("Removed the %s finalizer from %s", f, n.identity))
	return nil
}
