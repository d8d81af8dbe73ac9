package deployment_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
)

// unschedulable makes the Deployment's pods ask for more CPU than any node has.
func unschedulable(d *appsv1.Deployment) {
	d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("100")
}

// TestProgressDeadlineExceeded creates a Deployment whose pods can never be scheduled:
// Progressing goes NewReplicaSetCreated → ReplicaSetUpdated (pods created) and then, with
// no progress for the default 600 s, False/ProgressDeadlineExceeded. As upstream, the check
// is a requeue at the condition's update time + 600 s + the one-second skew, armed by the
// first sync that saw no change — here the one after NewReplicaSetCreated — so the
// timeout is reported at creation + 601 s, just after the last progress + 600 s.
func TestProgressDeadlineExceeded(t *testing.T) {
	c := cluster(t)
	d := deploy(2, "nginx:1.26")
	unschedulable(d)
	c.Apply(d)
	var timedOutAt, createdAt time.Time
	if _, err := c.Admin.Watch("deployments", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		cond := condition(ev.Object.(*appsv1.Deployment), appsv1.DeploymentProgressing)
		switch {
		case cond == nil:
		case cond.Reason == deployment.ReasonTimedOut && timedOutAt.IsZero():
			timedOutAt = c.Loop.Now()
		case cond.Reason == deployment.ReasonNewRSCreated:
			createdAt = cond.LastUpdateTime.Time
		}
	}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	d = get(c)
	before := condition(d, appsv1.DeploymentProgressing)
	if before == nil || before.Status != corev1.ConditionTrue || before.Reason != deployment.ReasonRSUpdated {
		t.Fatalf("Progressing after a minute: %+v", before)
	}
	if *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Fatalf("progressDeadlineSeconds defaulted to %d", *d.Spec.ProgressDeadlineSeconds)
	}
	deadline := before.LastUpdateTime.Add(600 * time.Second)
	at := createdAt.Add(600*time.Second + deployment.ProgressCheckSkew)
	if !at.After(deadline) || at.After(deadline.Add(deployment.ProgressCheckSkew)) {
		t.Fatalf("created %v, last progress %v: the check would not fall within a second after the deadline", createdAt, before.LastUpdateTime.Time)
	}
	c.Loop.RunUntil(at.Add(-time.Nanosecond))
	if !timedOutAt.IsZero() {
		t.Fatalf("timed out at %v, before %v", timedOutAt, at)
	}
	c.RunFor(time.Second)
	d = get(c)
	cond := condition(d, appsv1.DeploymentProgressing)
	rs := replicaSets(c)[0]
	want := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rs.Name)
	if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != deployment.ReasonTimedOut || cond.Message != want {
		t.Fatalf("Progressing after the deadline: %+v", cond)
	}
	if !cond.LastTransitionTime.Time.Equal(at) {
		t.Fatalf("timed out at %v, want %v (creation %v + 600s + 1s)", cond.LastTransitionTime.Time, at, createdAt)
	}
	if avail := condition(d, appsv1.DeploymentAvailable); avail == nil || avail.Status != corev1.ConditionFalse || avail.Reason != deployment.ReasonMinimumUnavailable {
		t.Fatalf("Available: %+v", avail)
	}
	if d.Status.UnavailableReplicas != 2 || d.Status.Replicas != 2 || d.Status.UpdatedReplicas != 2 || d.Status.AvailableReplicas != 0 {
		t.Fatalf("status %+v", d.Status)
	}
}

// TestMinReadySeconds checks that with minReadySeconds 30 a ready pod counts as available
// exactly 30 s after it became ready: the ReplicaSet's status then, and the Deployment's
// Available condition one watch delivery later.
func TestMinReadySeconds(t *testing.T) {
	c := cluster(t)
	d := deploy(1, "nginx:1.26")
	d.Spec.MinReadySeconds = 30
	c.Apply(d)
	var rsAvailableAt time.Time
	if _, err := c.Admin.Watch("replicasets", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		if rs := ev.Object.(*appsv1.ReplicaSet); rs.Status.AvailableReplicas == 1 && rsAvailableAt.IsZero() {
			rsAvailableAt = c.Loop.Now()
		}
	}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(2 * time.Minute)
	pods := c.Pods()
	if len(pods) != 1 {
		t.Fatalf("%d pods", len(pods))
	}
	var readyAt time.Time
	for _, cond := range pods[0].Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			readyAt = cond.LastTransitionTime.Time
		}
	}
	if readyAt.IsZero() {
		t.Fatal("pod never ready")
	}
	// The watch delivers the ReplicaSet's status write one latency after it.
	if got := rsAvailableAt.Sub(readyAt); got != 30*time.Second+apiserver.DefaultWatchLatency {
		t.Fatalf("ReplicaSet available %v after the pod became ready, want 30s + watch latency", got)
	}
	d = get(c)
	avail := condition(d, appsv1.DeploymentAvailable)
	if avail == nil || avail.Status != corev1.ConditionTrue {
		t.Fatalf("Available %+v", avail)
	}
	if got := avail.LastTransitionTime.Sub(readyAt); got != 30*time.Second+apiserver.DefaultWatchLatency {
		t.Fatalf("Deployment available %v after the pod became ready, want 30s + watch latency", got)
	}
	if d.Status.AvailableReplicas != 1 || d.Status.ReadyReplicas != 1 || d.Status.UnavailableReplicas != 0 {
		t.Fatalf("status %+v", d.Status)
	}
}

// TestProportionalScalingMidRollout scales a stuck rollout (new pods unschedulable) from
// 10 to 20 and then to 5: the change is spread over the old and new ReplicaSets by size
// against their max-replicas annotation, rounding as upstream, larger ReplicaSet first.
func TestProportionalScalingMidRollout(t *testing.T) {
	c := cluster(t)
	c.Apply(deploy(10, "nginx:1.26"))
	waitComplete(c, time.Minute)
	update(c, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
		unschedulable(d)
	})
	c.RunFor(time.Minute)
	sizes := func() (int32, int32) {
		return *rsWithImage(c, "nginx:1.26").Spec.Replicas, *rsWithImage(c, "nginx:1.27").Spec.Replicas
	}
	// maxSurge 3, maxUnavailable 2: new goes to 3, old down to 8, new up to 5; stuck.
	if o, n := sizes(); o != 8 || n != 5 {
		t.Fatalf("stuck rollout at old %d, new %d; want 8 and 5", o, n)
	}
	tests := []struct {
		replicas       int32
		wantOld, wantN int32
	}{
		// 20 + 5 surge = 25 from 13: old round(8*25/13)=15, new round(5*25/13)=10.
		{20, 15, 10},
		// 5 + 2 surge = 7 from 25: old round(15*7/25)=4, new round(10*7/25)=3.
		{5, 4, 3},
	}
	for _, tt := range tests {
		update(c, func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(tt.replicas) })
		c.RunFor(time.Minute)
		if o, n := sizes(); o != tt.wantOld || n != tt.wantN {
			t.Fatalf("scaled to %d: old %d, new %d; want %d and %d", tt.replicas, o, n, tt.wantOld, tt.wantN)
		}
	}
}
