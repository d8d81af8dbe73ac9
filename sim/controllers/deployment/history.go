package deployment

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// cleanupDeployment deletes the old ReplicaSets beyond revisionHistoryLimit, lowest
// revision first, skipping any that still has replicas, pods still terminating, an
// unobserved spec or a deletion under way (upstream's cleanupDeployment). A nil limit
// keeps everything, as upstream; the API server defaults it to 10.
func (c *Controller) cleanupDeployment(old []*appsv1.ReplicaSet, d *appsv1.Deployment) error {
	limit := d.Spec.RevisionHistoryLimit
	if limit == nil || *limit == unlimited {
		return nil
	}
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range old {
		if rs != nil && rs.DeletionTimestamp == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := int32(len(cleanable)) - *limit
	if diff <= 0 {
		return nil
	}
	byRevision(cleanable)
	for _, rs := range cleanable[:diff] {
		if rs.Status.Replicas != 0 || replicas(rs.Spec.Replicas) != 0 || rs.Generation > rs.Status.ObservedGeneration || c.terminatingPodsOf(rs) > 0 {
			continue
		}
		if _, err := c.client.Delete("replicasets", rs.Namespace, rs.Name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replica set %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		c.log.Action(c.identity, "DeletedReplicaSet", "deployments", d.Namespace, d.Name, fmt.Sprintf("Deleted old replica set %s (revision %s) beyond revisionHistoryLimit %d", rs.Name, rs.Annotations[RevisionAnnotation], *limit))
	}
	return nil
}
