package deployment_test

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
)

// TestPauseAndResume pauses a 4-replica rollout midway: the rollout stops; scaling to 8
// while paused is spread proportionally over both ReplicaSets (the max-replicas
// annotations carry the old size); a template change while paused creates no ReplicaSet;
// Progressing is Unknown/DeploymentPaused, then DeploymentResumed on resume, after which
// the rollout goes on to the latest template.
func TestPauseAndResume(t *testing.T) {
	c := cluster(t)
	c.Apply(deploy(4, "nginx:1.26"))
	waitComplete(c, time.Minute)
	var reasons []string
	if _, err := c.Admin.Watch("deployments", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		if cond := condition(ev.Object.(*appsv1.Deployment), appsv1.DeploymentProgressing); cond != nil && (len(reasons) == 0 || reasons[len(reasons)-1] != cond.Reason) {
			reasons = append(reasons, cond.Reason)
		}
	}); err != nil {
		t.Fatal(err)
	}
	setImage(c, "nginx:1.27")
	// Run until the rollout has moved a step (old scaled down once). Pausing there tops the
	// ReplicaSets up to replicas + maxSurge, as upstream's scale does for a paused
	// Deployment: the old one goes back to 4.
	for i := 0; ; i++ {
		c.RunFor(10 * time.Millisecond)
		rss := replicaSets(c)
		if len(rss) == 2 && *rss[0].Spec.Replicas < 4 {
			break
		}
		if i > 1000 {
			t.Fatal("the rollout never started")
		}
	}
	update(c, func(d *appsv1.Deployment) { d.Spec.Paused = true })
	c.RunFor(time.Second)
	old, cur := rsWithImage(c, "nginx:1.26"), rsWithImage(c, "nginx:1.27")
	oldN, curN := *old.Spec.Replicas, *cur.Spec.Replicas
	t.Logf("paused at old %d, new %d (max-replicas %s/%s)", oldN, curN, old.Annotations[deployment.MaxReplicasAnnotation], cur.Annotations[deployment.MaxReplicasAnnotation])
	c.RunFor(time.Minute)
	if o, n := *rsWithImage(c, "nginx:1.26").Spec.Replicas, *rsWithImage(c, "nginx:1.27").Spec.Replicas; o != oldN || n != curN {
		t.Fatalf("paused rollout moved: old %d→%d, new %d→%d", oldN, o, curN, n)
	}
	cond := condition(get(c), appsv1.DeploymentProgressing)
	if cond == nil || cond.Status != corev1.ConditionUnknown || cond.Reason != deployment.ReasonPaused || cond.Message != "Deployment is paused" {
		t.Fatalf("Progressing while paused: %+v", cond)
	}

	// Scale 4 → 8 while paused: 8 + maxSurge 2 = 10 replicas spread by size over the
	// ReplicaSets sized for 4 + 1.
	update(c, func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(8)) })
	c.RunFor(time.Second)
	old, cur = rsWithImage(c, "nginx:1.26"), rsWithImage(c, "nginx:1.27")
	wantOld, wantNew := oldN*10/5, curN*10/5
	if *old.Spec.Replicas != wantOld || *cur.Spec.Replicas != wantNew {
		t.Fatalf("proportional scale: old %d→%d (want %d), new %d→%d (want %d)", oldN, *old.Spec.Replicas, wantOld, curN, *cur.Spec.Replicas, wantNew)
	}
	for _, rs := range []*appsv1.ReplicaSet{old, cur} {
		if rs.Annotations[deployment.DesiredReplicasAnnotation] != "8" || rs.Annotations[deployment.MaxReplicasAnnotation] != "10" {
			t.Fatalf("%s annotations %v", rs.Name, rs.Annotations)
		}
	}

	// A template change while paused creates nothing.
	setImage(c, "nginx:1.28")
	c.RunFor(time.Minute)
	if n := len(replicaSets(c)); n != 2 {
		t.Fatalf("%d ReplicaSets after a template change while paused, want 2", n)
	}

	update(c, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitComplete(c, 2*time.Minute)
	if rs := rsWithImage(c, "nginx:1.28"); *rs.Spec.Replicas != 8 || revisionOf(rs) != "3" {
		t.Fatalf("after resume: 1.28 ReplicaSet %d replicas, revision %s", *rs.Spec.Replicas, revisionOf(rs))
	}
	// Paused before the new pods counted as progress: no ReplicaSetUpdated in between.
	want := []string{deployment.ReasonNewRSAvailable, deployment.ReasonNewRSCreated, deployment.ReasonPaused,
		deployment.ReasonResumed, deployment.ReasonNewRSCreated, deployment.ReasonRSUpdated, deployment.ReasonNewRSAvailable}
	if !slices.Equal(reasons, want) {
		t.Fatalf("Progressing reasons %q, want %q", reasons, want)
	}
}
