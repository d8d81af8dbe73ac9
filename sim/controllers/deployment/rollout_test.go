package deployment_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func deploy(replicas int32, image string) *appsv1.Deployment {
	p := simtest.Pod("", "100m", "64Mi")
	p.Spec.Containers[0].Image = image
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}},
	}
}

func get(c *simtest.Cluster) *appsv1.Deployment {
	c.T.Helper()
	obj, err := c.Admin.Get("deployments", "default", "web")
	if err != nil {
		c.T.Fatal(err)
	}
	return obj.(*appsv1.Deployment)
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// TestRollingUpdate changes the image of a 4-replica Deployment (maxSurge 1, maxUnavailable
// 1 at 25%) and checks, every 100 ms of virtual time, that no more than 5 pods exist and no
// fewer than 3 are ready, and that the rollout ends with 4 new pods and the old ReplicaSet
// at 0.
func TestRollingUpdate(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "8", "16Gi"), simtest.Node("n2", "8", "16Gi"))
	c.Apply(deploy(4, "nginx:1.26"))
	c.RunFor(30 * time.Second)
	d := get(c)
	if d.Status.AvailableReplicas != 4 || d.Status.UpdatedReplicas != 4 {
		t.Fatalf("before the update: %+v", d.Status)
	}
	if cond := condition(d, appsv1.DeploymentAvailable); cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "MinimumReplicasAvailable" {
		t.Fatalf("Available condition %+v", cond)
	}
	next := d.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	if _, err := c.Admin.Update(next); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		c.RunFor(100 * time.Millisecond)
		total, ready := 0, 0
		for _, p := range c.Pods() {
			if p.DeletionTimestamp != nil {
				continue
			}
			total++
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if total > 5 {
			t.Fatalf("at %v: %d pods, more than replicas + maxSurge = 5", c.Loop.Elapsed(), total)
		}
		if ready < 3 {
			t.Fatalf("at %v: %d ready pods, fewer than replicas - maxUnavailable = 3", c.Loop.Elapsed(), ready)
		}
	}
	d = get(c)
	if d.Status.UpdatedReplicas != 4 || d.Status.AvailableReplicas != 4 || d.Status.Replicas != 4 || d.Status.ObservedGeneration != 2 {
		t.Fatalf("after the rollout: %+v", d.Status)
	}
	if cond := condition(d, appsv1.DeploymentProgressing); cond == nil || cond.Reason != "NewReplicaSetAvailable" {
		t.Fatalf("Progressing condition %+v", cond)
	}
	rss, _ := c.Admin.List("replicasets", "default", apiserver.Filter{}, false)
	var revisions []string
	for _, o := range rss.Items {
		rs := o.(*appsv1.ReplicaSet)
		revisions = append(revisions, rs.Annotations["deployment.kubernetes.io/revision"])
		want := int32(0)
		if rs.Spec.Template.Spec.Containers[0].Image == "nginx:1.27" {
			want = 4
		}
		if *rs.Spec.Replicas != want {
			t.Errorf("ReplicaSet %s (%s): %d replicas, want %d", rs.Name, rs.Spec.Template.Spec.Containers[0].Image, *rs.Spec.Replicas, want)
		}
	}
	if len(revisions) != 2 {
		t.Fatalf("%d ReplicaSets, want 2", len(revisions))
	}
	for _, p := range c.Pods() {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image != "nginx:1.27" {
			t.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
}

// TestRecreate stops every old pod before any new one starts.
func TestRecreate(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "8", "16Gi"))
	d := deploy(2, "nginx:1.26")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	c.Apply(d)
	c.RunFor(30 * time.Second)
	next := get(c).DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	if _, err := c.Admin.Update(next); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		c.RunFor(100 * time.Millisecond)
		images := map[string]bool{}
		for _, p := range c.Pods() {
			images[p.Spec.Containers[0].Image] = true
		}
		if images["nginx:1.26"] && images["nginx:1.27"] {
			t.Fatalf("at %v old and new pods coexist", c.Loop.Elapsed())
		}
	}
	if d := get(c); d.Status.UpdatedReplicas != 2 || d.Status.AvailableReplicas != 2 {
		t.Fatalf("after recreate: %+v", d.Status)
	}
}
