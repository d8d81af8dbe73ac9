package deployment_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/orrery-sim/orrery/sim/controllers/deployment"
)

func revisionOf(obj interface{ GetAnnotations() map[string]string }) string {
	return obj.GetAnnotations()[deployment.RevisionAnnotation]
}

// TestUndoToRevision1 rolls nginx:1.26 (revision 1) to 1.27 (revision 2), then undoes to
// revision 1 as `kubectl rollout undo --to-revision=1`: the template comes back, the
// revision-1 ReplicaSet is reused (no third one) and becomes revision 3 with
// revision-history "1", and the 1.27 ReplicaSet goes to zero.
func TestUndoToRevision1(t *testing.T) {
	c := cluster(t)
	c.Apply(deploy(4, "nginx:1.26"))
	waitComplete(c, time.Minute)
	first := rsWithImage(c, "nginx:1.26")
	setImage(c, "nginx:1.27")
	waitComplete(c, time.Minute)
	if got := revisionOf(get(c)); got != "2" {
		t.Fatalf("deployment revision %q after the update, want 2", got)
	}
	if err := deployment.Undo(c.Admin, "default", "web", 1); err != nil {
		t.Fatal(err)
	}
	d := get(c)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.26" {
		t.Fatalf("template image %s after undo", img)
	}
	if _, ok := d.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		t.Fatal("undo copied the pod-template-hash label into the Deployment")
	}
	waitComplete(c, time.Minute)
	rss := replicaSets(c)
	if len(rss) != 2 {
		t.Fatalf("%d ReplicaSets after undo, want 2 (the old one reused)", len(rss))
	}
	back := rsWithImage(c, "nginx:1.26")
	if back.UID != first.UID || revisionOf(back) != "3" || back.Annotations[deployment.RevisionHistoryAnnotation] != "1" || *back.Spec.Replicas != 4 {
		t.Fatalf("reused ReplicaSet %s: uid same %v, revision %q, history %q, replicas %d", back.Name, back.UID == first.UID,
			revisionOf(back), back.Annotations[deployment.RevisionHistoryAnnotation], *back.Spec.Replicas)
	}
	if rs := rsWithImage(c, "nginx:1.27"); *rs.Spec.Replicas != 0 || revisionOf(rs) != "2" {
		t.Fatalf("1.27 ReplicaSet: %d replicas, revision %q", *rs.Spec.Replicas, revisionOf(rs))
	}
	if got := revisionOf(get(c)); got != "3" {
		t.Fatalf("deployment revision %q after undo, want 3", got)
	}
	// Undo to the previous revision (0) goes back to 1.27, which becomes revision 4.
	if err := deployment.Undo(c.Admin, "default", "web", 0); err != nil {
		t.Fatal(err)
	}
	waitComplete(c, time.Minute)
	if rs := rsWithImage(c, "nginx:1.27"); revisionOf(rs) != "4" || rs.Annotations[deployment.RevisionHistoryAnnotation] != "2" || *rs.Spec.Replicas != 4 {
		t.Fatalf("1.27 ReplicaSet after undo to previous: revision %q, history %q, %d replicas", revisionOf(rs), rs.Annotations[deployment.RevisionHistoryAnnotation], *rs.Spec.Replicas)
	}
	if err := deployment.Undo(c.Admin, "default", "web", 9); err == nil || err.Error() != `undo deployment default/web: unable to find specified revision 9 in history` {
		t.Fatalf("undo to a missing revision: %v", err)
	}
	update(c, func(d *appsv1.Deployment) { d.Spec.Paused = true })
	if err := deployment.Undo(c.Admin, "default", "web", 3); !errors.Is(err, deployment.ErrRollbackPaused) {
		t.Fatalf("undo of a paused deployment: %v", err)
	}
}

// TestRollbackAnnotation asks the controller itself to roll back through the
// deprecated.deployment.rollback.to annotation: it restores the template, clears the
// annotation and records the DeploymentRollback event with upstream's message.
func TestRollbackAnnotation(t *testing.T) {
	c := cluster(t)
	c.Apply(deploy(2, "nginx:1.26"))
	waitComplete(c, time.Minute)
	setImage(c, "nginx:1.27")
	waitComplete(c, time.Minute)
	update(c, func(d *appsv1.Deployment) { d.Annotations[appsv1.DeprecatedRollbackTo] = "0" })
	waitComplete(c, time.Minute)
	d := get(c)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.26" {
		t.Fatalf("template image %s after rollback", img)
	}
	if _, ok := d.Annotations[appsv1.DeprecatedRollbackTo]; ok || revisionOf(d) != "3" {
		t.Fatalf("annotations after rollback: %v", d.Annotations)
	}
	if got, want := eventMessages(c, deployment.ReasonRollbackDone), []string{`Rolled back deployment "web" to revision 1`}; !slices.Equal(got, want) {
		t.Fatalf("DeploymentRollback events %q, want %q", got, want)
	}
	update(c, func(d *appsv1.Deployment) { d.Annotations[appsv1.DeprecatedRollbackTo] = "7" })
	c.RunFor(time.Second)
	if got, want := eventMessages(c, deployment.ReasonRollbackNotFound), []string{"Unable to find the revision to rollback to."}; !slices.Equal(got, want) {
		t.Fatalf("%s events %q, want %q", deployment.ReasonRollbackNotFound, got, want)
	}
}

// TestRevisionHistoryLimit makes five revisions with revisionHistoryLimit 2: the two
// lowest old revisions are deleted, revisions 3 and 4 are kept beside the current 5.
func TestRevisionHistoryLimit(t *testing.T) {
	c := cluster(t)
	d := deploy(2, "nginx:1.0")
	d.Spec.RevisionHistoryLimit = ptrTo(int32(2))
	c.Apply(d)
	waitComplete(c, time.Minute)
	for _, img := range []string{"nginx:1.1", "nginx:1.2", "nginx:1.3", "nginx:1.4"} {
		setImage(c, img)
		waitComplete(c, time.Minute)
	}
	c.RunFor(time.Minute) // old pods finish terminating; cleanup runs on the next sync
	var got []string
	for _, rs := range replicaSets(c) {
		got = append(got, revisionOf(rs)+"="+rs.Spec.Template.Spec.Containers[0].Image)
	}
	if want := []string{"3=nginx:1.2", "4=nginx:1.3", "5=nginx:1.4"}; !slices.Equal(got, want) {
		t.Fatalf("ReplicaSets %q, want %q", got, want)
	}
	if n := c.CountActions("DeletedReplicaSet"); n != 2 {
		t.Fatalf("%d DeletedReplicaSet actions, want 2", n)
	}
}

func ptrTo[T any](v T) *T { return &v }
