package daemonset_test

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/daemonset"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestOnDelete: a template change replaces no pod until a pod is deleted by hand.
func TestOnDelete(t *testing.T) {
	c := cluster(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	ds := daemonSet("nginx:1.26")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	c.Apply(ds)
	c.RunFor(time.Minute)
	setImage(c, "nginx:1.27")
	c.RunFor(time.Minute)
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 0, ObservedGeneration: 2}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Fatalf("after the template change: status %+v, want %+v", st, want)
	}
	var victim string
	for _, p := range live(c) {
		if p.Spec.NodeName == "n2" {
			victim = p.Name
		}
	}
	if _, err := c.Admin.Delete("pods", "default", victim, apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	images := map[string]string{}
	for _, p := range live(c) {
		images[p.Spec.NodeName] = p.Spec.Containers[0].Image
	}
	if !reflect.DeepEqual(images, map[string]string{"n1": "nginx:1.26", "n2": "nginx:1.27"}) {
		t.Errorf("images by node %v", images)
	}
	want.UpdatedNumberScheduled = 1
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("after deleting %s: status %+v, want %+v", victim, st, want)
	}
}

// TestHistory: each template gets a ControllerRevision numbered in order; going back to an
// earlier template renumbers its revision instead of making a new one; revisions beyond
// revisionHistoryLimit go, oldest first.
func TestHistory(t *testing.T) {
	c := cluster(t, simtest.Node("n1", "4", "8Gi"))
	ds := daemonSet("img:a")
	two := int32(2)
	ds.Spec.RevisionHistoryLimit = &two
	c.Apply(ds)
	c.RunFor(30 * time.Second)
	names := map[string]string{} // image -> revision name, from the stored template's hash
	record := func(img string) { names[img] = "agent-" + daemonset.ComputeHash(&getDS(c).Spec.Template, nil) }
	record("img:a")
	for _, img := range []string{"img:b", "img:c", "img:a", "img:d"} {
		setImage(c, img)
		record(img)
		c.RunFor(30 * time.Second)
	}
	var got []string
	for _, r := range revisions(c) {
		got = append(got, r.Name)
		if r.Labels["controller-revision-hash"] != r.Name[len("agent-"):] {
			t.Errorf("revision %s labelled %v", r.Name, r.Labels)
		}
	}
	// a was revision 1, then 4 once the template came back to it; b (2) exceeded the limit.
	want := []string{names["img:c"], names["img:a"], names["img:d"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("revisions by number %v, want c, a, d = %v", got, want)
	}
	if n := revisions(c)[2].Revision; n != 5 {
		t.Errorf("current revision %d, want 5", n)
	}
	p := live(c)[0]
	if p.Spec.Containers[0].Image != "img:d" || p.Labels["pod-template-generation"] != "5" || "agent-"+p.Labels["controller-revision-hash"] != want[2] {
		t.Errorf("pod %s: %s, labels %v", p.Name, p.Spec.Containers[0].Image, p.Labels)
	}
}
