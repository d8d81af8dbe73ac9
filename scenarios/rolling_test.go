package scenarios

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/eventlog"
)

// TestRollingUpdateScenario: through the update to v2 and the rollback to v1, the
// Deployment never reports fewer than 10 available replicas nor more than 13 pods' worth
// of replicas (maxUnavailable 0, maxSurge 25%), and the rollback reuses the v1 ReplicaSet
// as revision 3.
func TestRollingUpdateScenario(t *testing.T) {
	s, err := LoadBuiltin("rolling-update")
	if err != nil {
		t.Fatal(err)
	}
	minAvail, maxReplicas := int32(1<<30), int32(0)
	observe := func(c *sim.Cluster, e *eventlog.Entry) {
		if e.Resource != "deployments/status" || e.At < 30*time.Second {
			return
		}
		obj, err := c.Admin.Get("deployments", "default", "web")
		if err != nil {
			t.Fatal(err)
		}
		st := obj.(*appsv1.Deployment).Status
		minAvail = min(minAvail, st.AvailableReplicas)
		maxReplicas = max(maxReplicas, st.Replicas)
	}
	run, err := s.Run(RunOptions{Observe: observe})
	if err != nil {
		t.Fatal(err)
	}
	if minAvail != 10 || maxReplicas != 13 {
		t.Errorf("available went down to %d and replicas up to %d, want 10 and 13", minAvail, maxReplicas)
	}
	var rolledBack time.Duration = -1
	for _, e := range run.Actions {
		if e.Reason == "RolledBack" {
			rolledBack = e.At
		}
	}
	if rolledBack != 4*time.Minute {
		t.Errorf("rolled back at %v, want 4m", rolledBack)
	}
	obj, _ := run.Cluster.Admin.Get("deployments", "default", "web")
	d := obj.(*appsv1.Deployment)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.27" || d.Annotations["deployment.kubernetes.io/revision"] != "3" || d.Status.UpdatedReplicas != 10 {
		t.Errorf("after the rollback: image %s, revision %s, updated %d", img, d.Annotations["deployment.kubernetes.io/revision"], d.Status.UpdatedReplicas)
	}
}
