package replicaset_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func rs(replicas int32) *appsv1.ReplicaSet {
	p := simtest.Pod("", "100m", "64Mi")
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}},
	}
}

func active(c *simtest.Cluster) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range c.Pods() {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func TestReplicaSetConverges(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	c.Apply(rs(3))
	c.RunFor(time.Minute)
	if n := len(active(c)); n != 3 {
		t.Fatalf("%d pods, want 3", n)
	}
	// Expectations: the controller never creates more than it needs while its writes fly.
	if n := c.CountActions("SuccessfulCreate"); n != 3 {
		t.Fatalf("%d creates, want exactly 3", n)
	}
	obj, _ := c.Admin.Get("replicasets", "default", "web")
	st := obj.(*appsv1.ReplicaSet).Status
	if st.Replicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.FullyLabeledReplicas != 3 || st.ObservedGeneration != 1 {
		t.Fatalf("status %+v", st)
	}
	for _, p := range active(c) {
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "ReplicaSet" || ref.Name != "web" {
			t.Fatalf("pod %s owner %v", p.Name, p.OwnerReferences)
		}
	}

	// A deleted pod is replaced.
	victim := active(c)[0].Name
	if _, err := c.Admin.Delete("pods", "default", victim, apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n := len(active(c)); n != 3 || c.CountActions("SuccessfulCreate") != 4 {
		t.Fatalf("after deleting %s: %d pods, %d creates", victim, n, c.CountActions("SuccessfulCreate"))
	}

	// Scaling down deletes the surplus.
	obj, _ = c.Admin.Get("replicasets", "default", "web")
	down := obj.(*appsv1.ReplicaSet).DeepCopy()
	one := int32(1)
	down.Spec.Replicas = &one
	if _, err := c.Admin.Update(down); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n := len(active(c)); n != 1 || c.CountActions("SuccessfulDelete") != 2 {
		t.Fatalf("after scaling to 1: %d pods, %d deletes", n, c.CountActions("SuccessfulDelete"))
	}
}

// TestScaleDownPrefersPending: pods that could not be scheduled go first.
func TestScaleDownPrefersPending(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "250m", "8Gi")) // room for 2 pods of 100m
	c.Apply(rs(3))
	c.RunFor(time.Minute)
	var pending string
	for _, p := range active(c) {
		if p.Spec.NodeName == "" {
			pending = p.Name
		}
	}
	if pending == "" {
		t.Fatal("expected one unschedulable pod")
	}
	obj, _ := c.Admin.Get("replicasets", "default", "web")
	down := obj.(*appsv1.ReplicaSet).DeepCopy()
	two := int32(2)
	down.Spec.Replicas = &two
	if _, err := c.Admin.Update(down); err != nil {
		t.Fatal(err)
	}
	c.RunFor(10 * time.Second)
	if p := c.Pod(pending); p != nil && p.DeletionTimestamp == nil {
		t.Fatalf("the pending pod %s survived the scale-down", pending)
	}
}

// TestAdoptAndRelease: a ReplicaSet adopts a matching orphan pod (and so creates one pod
// fewer), and releases a pod whose labels stop matching (and replaces it), as upstream's
// ClaimPods.
func TestAdoptAndRelease(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"))
	orphan := simtest.Pod("orphan", "100m", "64Mi")
	orphan.Labels = map[string]string{"app": "web"}
	c.Apply(orphan)
	c.RunFor(5 * time.Second)
	c.Apply(rs(3))
	c.RunFor(5 * time.Second)
	if n := c.CountActions("SuccessfulCreate"); n != 2 {
		t.Errorf("%d pods created, want 2 (the orphan adopted)", n)
	}
	o := c.Pod("orphan")
	if ref := metav1.GetControllerOf(o); ref == nil || ref.Kind != "ReplicaSet" || ref.Name != "web" {
		t.Fatalf("orphan's controller: %+v", ref)
	}
	// Relabel the adopted pod out of the selector: released, and replaced.
	o.Labels = map[string]string{"app": "debug"}
	if _, err := c.Admin.Update(o); err != nil {
		t.Fatal(err)
	}
	c.RunFor(5 * time.Second)
	if ref := metav1.GetControllerOf(c.Pod("orphan")); ref != nil {
		t.Errorf("released pod still controlled by %+v", ref)
	}
	if n := c.CountActions("ReleasedPod"); n != 1 {
		t.Errorf("%d releases, want 1", n)
	}
	matching := 0
	for _, p := range active(c) {
		if p.Labels["app"] == "web" {
			matching++
		}
	}
	if matching != 3 || c.CountActions("SuccessfulCreate") != 3 {
		t.Errorf("%d matching pods after %d creates, want 3 after 3", matching, c.CountActions("SuccessfulCreate"))
	}
}
