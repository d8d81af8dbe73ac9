package garbagecollector_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/garbagecollector"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// removal is an object's disappearance as a watcher sees it.
type removal struct {
	at   time.Duration
	what string // resource/name
}

// fixture is a two-node cluster running the garbage collector, with a watch recording
// every removal of pods, ReplicaSets and Deployments.
type fixture struct {
	*simtest.Cluster
	gc      *garbagecollector.Controller
	removed []removal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	// The cluster's own collector is off: the fixture runs the one under test.
	f := &fixture{Cluster: simtest.NewWithConfig(t, sim.Config{Seed: 1, DisabledControllers: []string{sim.ControllerGarbageCollector},
		Nodes: []*corev1.Node{simtest.Node("n1", "8", "16Gi"), simtest.Node("n2", "8", "16Gi")}})}
	cm := f.API.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	f.gc = garbagecollector.New(f.Loop, f.Log, cm)
	if err := f.gc.Start(); err != nil {
		t.Fatal(err)
	}
	for _, res := range []string{"pods", "replicasets", "deployments"} {
		res := res
		if _, err := f.Admin.Watch(res, "", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
			if ev.Type == watch.Deleted {
				f.removed = append(f.removed, removal{f.Loop.Elapsed(), res + "/" + informer.Key(ev.Object)})
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func deployment(replicas int32) *appsv1.Deployment {
	p := simtest.Pod("", "100m", "64Mi")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}},
	}
}

func replicaSet(replicas int32) *appsv1.ReplicaSet {
	d := deployment(replicas)
	return &appsv1.ReplicaSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: d.Spec.Selector, Template: d.Spec.Template}}
}

func (f *fixture) replicaSets() []*appsv1.ReplicaSet {
	f.T.Helper()
	res, err := f.Admin.List("replicasets", "default", apiserver.Filter{}, false)
	if err != nil {
		f.T.Fatal(err)
	}
	var out []*appsv1.ReplicaSet
	for _, o := range res.Items {
		out = append(out, o.(*appsv1.ReplicaSet))
	}
	return out
}

// kinds returns the resources of the removals in order, runs of one resource collapsed:
// "pods,replicasets,deployments".
func (f *fixture) kinds() string {
	var out []string
	for _, r := range f.removed {
		res := r.what[:strings.Index(r.what, "/")]
		if len(out) == 0 || out[len(out)-1] != res {
			out = append(out, res)
		}
	}
	return strings.Join(out, ",")
}

func (f *fixture) removedAt(what string) time.Duration {
	for _, r := range f.removed {
		if r.what == what {
			return r.at
		}
	}
	return -1
}

func policy(p metav1.DeletionPropagation) *metav1.DeletionPropagation { return &p }

// TestForegroundCascade deletes a Deployment in the foreground: the pods go first (after
// their graceful termination), then the ReplicaSet, then the Deployment, each owner held by
// the foregroundDeletion finalizer until its blocking dependents are gone.
func TestForegroundCascade(t *testing.T) {
	f := newFixture(t)
	f.Apply(deployment(3))
	f.RunFor(time.Minute)
	if n := len(f.Pods()); n != 3 {
		t.Fatalf("%d pods, want 3", n)
	}
	rs := f.replicaSets()[0]
	start := f.Loop.Elapsed()
	if _, err := f.Admin.Delete("deployments", "default", "web", apiserver.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	f.RunFor(5 * time.Millisecond * 3)
	obj, err := f.Admin.Get("replicasets", "default", rs.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.(*appsv1.ReplicaSet); got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("the ReplicaSet must be deleted in the foreground first: %v %v", got.DeletionTimestamp, got.Finalizers)
	}
	f.RunFor(2 * time.Minute)
	if got := f.kinds(); got != "pods,replicasets,deployments" {
		t.Fatalf("removal order %s, want pods,replicasets,deployments (%v)", got, f.removed)
	}
	if len(f.removed) != 5 {
		t.Fatalf("removals %v, want 3 pods, 1 ReplicaSet, 1 Deployment", f.removed)
	}
	// Watch latency 5 ms per hop: the ReplicaSet is marked at +5 ms, its pods at +10 ms;
	// the kubelets finish them at +115 ms; each finalizer goes one hop after the last
	// blocking dependent is seen gone. The watcher sees every removal 5 ms after it.
	for i, r := range f.removed[:3] {
		if want := start + 120*time.Millisecond; r.at != want {
			t.Errorf("pod %d removed at %v, want %v", i, r.at, want)
		}
	}
	if got, want := f.removedAt("replicasets/default/"+rs.Name), start+125*time.Millisecond; got != want {
		t.Errorf("ReplicaSet removed at %v, want %v", got, want)
	}
	if got, want := f.removedAt("deployments/default/web"), start+130*time.Millisecond; got != want {
		t.Errorf("Deployment removed at %v, want %v", got, want)
	}
	for _, uid := range []string{string(rs.UID)} {
		if f.gc.GraphHasUID(types.UID(uid)) {
			t.Errorf("the graph still holds %s", uid)
		}
	}
	// The collector's own actions, in order: the ReplicaSet in the foreground, each pod in
	// the background, then the two finalizers.
	var acts []string
	for _, a := range f.Actions {
		if a.Actor == apiserver.ControllerManagerUser && (a.Reason == "DeletingItem" || a.Reason == "RemovedFinalizer") {
			acts = append(acts, fmt.Sprintf("%s %s", a.Reason, a.Resource))
		}
	}
	want := "DeletingItem replicasets,DeletingItem pods,DeletingItem pods,DeletingItem pods,RemovedFinalizer replicasets,RemovedFinalizer deployments"
	if got := strings.Join(acts, ","); got != want {
		t.Fatalf("actions\n%s\nwant\n%s", got, want)
	}
}

// TestBackgroundAndOrphan deletes owners with the other policies: in the background the
// owner goes at once and its dependents after it, level by level; with Orphan the
// dependents stay and lose their ownerReferences to it.
func TestBackgroundAndOrphan(t *testing.T) {
	cases := []struct {
		name     string
		owner    func() *fixture
		resource string
		policy   *metav1.DeletionPropagation
		// kinds is the order of removals; rs and pods what remains, with refs the number
		// of ownerReferences each remaining pod keeps.
		kinds        string
		rs, pods     int
		rsRefs, refs int
		// ownerGone and lastGone are when the owner and the last object are seen gone.
		ownerGone, lastGone time.Duration
	}{
		{"Deployment, background", nil, "deployments", policy(metav1.DeletePropagationBackground), "deployments,replicasets,pods", 0, 0, 0, 0, 5 * time.Millisecond, 120 * time.Millisecond},
		{"Deployment, default policy", nil, "deployments", nil, "deployments,replicasets,pods", 0, 0, 0, 0, 5 * time.Millisecond, 120 * time.Millisecond},
		{"Deployment, orphan", nil, "deployments", policy(metav1.DeletePropagationOrphan), "deployments", 1, 3, 0, 1, 10 * time.Millisecond, 10 * time.Millisecond},
		{"ReplicaSet, orphan", nil, "replicasets", policy(metav1.DeletePropagationOrphan), "replicasets", 0, 3, 0, 0, 10 * time.Millisecond, 10 * time.Millisecond},
		{"ReplicaSet, background", nil, "replicasets", policy(metav1.DeletePropagationBackground), "replicasets,pods", 0, 0, 0, 0, 5 * time.Millisecond, 115 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.resource == "deployments" {
				f.Apply(deployment(3))
			} else {
				f.Apply(replicaSet(3))
			}
			f.RunFor(time.Minute)
			start := f.Loop.Elapsed()
			if _, err := f.Admin.Delete(tc.resource, "default", "web", apiserver.DeleteOptions{PropagationPolicy: tc.policy}); err != nil {
				t.Fatal(err)
			}
			f.RunFor(2 * time.Minute)
			if got := f.kinds(); got != tc.kinds {
				t.Fatalf("removal order %q, want %q (%v)", got, tc.kinds, f.removed)
			}
			// Times are as the watcher sees them, 5 ms after each write. An owner deleted
			// in the background goes at once; with the orphan finalizer the collector sees
			// it at +5 ms and removes the references and then the finalizer then.
			if got, want := f.removed[0].at, start+tc.ownerGone; got != want {
				t.Errorf("owner removed at %v, want %v", got, want)
			}
			if got, want := f.removed[len(f.removed)-1].at, start+tc.lastGone; got != want {
				t.Errorf("last removal at %v, want %v (%v)", got, want, f.removed)
			}
			rss, pods := f.replicaSets(), f.Pods()
			if len(rss) != tc.rs || len(pods) != tc.pods {
				t.Fatalf("%d ReplicaSets and %d pods left, want %d and %d", len(rss), len(pods), tc.rs, tc.pods)
			}
			for _, rs := range rss {
				if len(rs.OwnerReferences) != tc.rsRefs {
					t.Errorf("ReplicaSet %s ownerReferences %v, want %d", rs.Name, rs.OwnerReferences, tc.rsRefs)
				}
			}
			for _, p := range pods {
				if len(p.OwnerReferences) != tc.refs || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
					t.Errorf("pod %s: %s, ownerReferences %v, want %d and still running", p.Name, p.Status.Phase, p.OwnerReferences, tc.refs)
				}
			}
		})
	}
}

// TestDeterministic runs a foreground cascade twice: the event logs hash the same.
func TestDeterministic(t *testing.T) {
	run := func() string {
		f := newFixture(t)
		f.Apply(deployment(4))
		f.RunFor(time.Minute)
		if _, err := f.Admin.Delete("deployments", "default", "web", apiserver.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatal(err)
		}
		f.RunFor(time.Minute)
		if len(f.removed) != 6 {
			t.Fatalf("removals %v, want 6", f.removed)
		}
		return f.Log.Hash()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("event-log hashes differ: %s, %s", a, b)
	}
}
