package deployment_test

import (
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// cluster is a two-node test cluster (8 CPU each) running the controller under test.
func cluster(t *testing.T) *simtest.Cluster {
	return simtest.New(t, simtest.Node("n1", "8", "16Gi"), simtest.Node("n2", "8", "16Gi"))
}

// replicaSets lists the ReplicaSets in namespace default, lowest revision first.
func replicaSets(c *simtest.Cluster) []*appsv1.ReplicaSet {
	c.T.Helper()
	res, err := c.Admin.List("replicasets", "default", apiserver.Filter{}, false)
	if err != nil {
		c.T.Fatal(err)
	}
	var out []*appsv1.ReplicaSet
	for _, o := range res.Items {
		out = append(out, o.(*appsv1.ReplicaSet))
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Annotations[deployment.RevisionAnnotation] < out[j].Annotations[deployment.RevisionAnnotation]
	})
	return out
}

// rsWithImage returns the ReplicaSet whose template runs image, or fails.
func rsWithImage(c *simtest.Cluster, image string) *appsv1.ReplicaSet {
	c.T.Helper()
	for _, rs := range replicaSets(c) {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return rs
		}
	}
	c.T.Fatalf("no ReplicaSet runs %s", image)
	return nil
}

// update changes the Deployment through the API server as the admin.
func update(c *simtest.Cluster, fn func(d *appsv1.Deployment)) {
	c.T.Helper()
	next := get(c).DeepCopy()
	fn(next)
	if _, err := c.Admin.Update(next); err != nil {
		c.T.Fatal(err)
	}
}

// setImage starts a rollout to image.
func setImage(c *simtest.Cluster, image string) {
	c.T.Helper()
	update(c, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
}

// waitComplete runs until the Deployment reports NewReplicaSetAvailable for its current
// generation, or fails after limit.
func waitComplete(c *simtest.Cluster, limit time.Duration) {
	c.T.Helper()
	end := c.Loop.Elapsed() + limit
	for c.Loop.Elapsed() < end {
		c.RunFor(time.Second)
		d := get(c)
		cond := condition(d, appsv1.DeploymentProgressing)
		if d.Status.ObservedGeneration == d.Generation && cond != nil && cond.Reason == deployment.ReasonNewRSAvailable &&
			d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas {
			return
		}
	}
	c.T.Fatalf("rollout not complete after %v: %+v", limit, get(c).Status)
}

func intOrStr(v intstr.IntOrString) *intstr.IntOrString { return &v }

// podReady reports whether a pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// eventMessages returns the messages of the core/v1 Events with reason, oldest first.
func eventMessages(c *simtest.Cluster, reason string) []string {
	var out []string
	for _, ev := range c.Events(reason) {
		out = append(out, ev.Message)
	}
	return out
}
