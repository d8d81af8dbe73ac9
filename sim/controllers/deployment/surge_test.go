package deployment_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestRollingUpdateMaxUnavailableZero rolls 10 replicas with maxUnavailable 0 and maxSurge
// 25% (3) and checks, on every pod and Deployment watch event, that at least 10 pods stay
// ready, at most 13 exist, and the Deployment never reports fewer than 10 available; the
// rollout must finish with 10 new pods.
//
// Both images are on the nodes already: the kubelets pull one image at a time
// (serializeImagePulls), which would make surge pods sharing a node ready in turn and blur
// the steps this test pins.
func TestRollingUpdateMaxUnavailableZero(t *testing.T) {
	var nodes []*corev1.Node
	for _, name := range []string{"n1", "n2"} {
		n := simtest.Node(name, "8", "16Gi")
		n.Status.Images = []corev1.ContainerImage{{Names: []string{"nginx:1.26"}, SizeBytes: 70 << 20}, {Names: []string{"nginx:1.27"}, SizeBytes: 70 << 20}}
		nodes = append(nodes, n)
	}
	c := simtest.New(t, nodes...)
	d := deploy(10, "nginx:1.26")
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr(intstr.FromInt32(0)), MaxSurge: intOrStr(intstr.FromString("25%"))}
	c.Apply(d)
	waitComplete(c, 2*time.Minute)

	pods := map[string]*corev1.Pod{}
	for _, p := range c.Pods() {
		pods[p.Name] = p
	}
	minReady, maxPods, minAvailable := 1<<30, 0, int32(1<<30)
	check := func() {
		ready, total := 0, 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			total++
			if podReady(p) {
				ready++
			}
		}
		minReady, maxPods = min(minReady, ready), max(maxPods, total)
	}
	if _, err := c.Admin.Watch("pods", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		p := ev.Object.(*corev1.Pod)
		if ev.Type == watch.Deleted {
			delete(pods, p.Name)
		} else {
			pods[p.Name] = p
		}
		check()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admin.Watch("deployments", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		minAvailable = min(minAvailable, ev.Object.(*appsv1.Deployment).Status.AvailableReplicas)
	}); err != nil {
		t.Fatal(err)
	}
	start := c.Loop.Elapsed()
	setImage(c, "nginx:1.27")
	waitComplete(c, 5*time.Minute)
	t.Logf("rollout of 10 replicas took %v; min ready %d, max pods %d, min available %d", c.Loop.Elapsed()-start, minReady, maxPods, minAvailable)
	if minReady < 10 || maxPods > 13 || minAvailable < 10 {
		t.Fatalf("min ready pods %d (want >= 10), max pods %d (want <= 13), min Deployment available %d (want >= 10)", minReady, maxPods, minAvailable)
	}
	if maxPods != 13 {
		t.Errorf("max pods %d: the rollout should use its whole surge of 3", maxPods)
	}
	old, cur := rsWithImage(c, "nginx:1.26"), rsWithImage(c, "nginx:1.27")
	if *old.Spec.Replicas != 0 || *cur.Spec.Replicas != 10 {
		t.Fatalf("old ReplicaSet %d replicas, new %d", *old.Spec.Replicas, *cur.Spec.Replicas)
	}
	// Steps of 3 within the surge, each old scale-down waiting for new pods to be available.
	o, n := old.Name, cur.Name
	want := []string{
		"Scaled up replica set " + o + " from 0 to 10",
		"Scaled up replica set " + n + " from 0 to 3",
		"Scaled down replica set " + o + " from 10 to 7",
		"Scaled up replica set " + n + " from 3 to 6",
		"Scaled down replica set " + o + " from 7 to 4",
		"Scaled up replica set " + n + " from 6 to 9",
		"Scaled down replica set " + o + " from 4 to 1",
		"Scaled up replica set " + n + " from 9 to 10",
		"Scaled down replica set " + o + " from 1 to 0",
	}
	if got := eventMessages(c, "ScalingReplicaSet"); !slices.Equal(got, want) {
		t.Fatalf("ScalingReplicaSet events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := get(c); d.Annotations["deployment.kubernetes.io/revision"] != "2" || cur.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("revisions: deployment %q, new ReplicaSet %q", d.Annotations["deployment.kubernetes.io/revision"], cur.Annotations["deployment.kubernetes.io/revision"])
	}
}
