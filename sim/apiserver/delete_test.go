package apiserver

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func policy(p metav1.DeletionPropagation) *metav1.DeletionPropagation { return &p }

func deployment(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod("", "", "").Spec},
		},
	}
}

func job(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"job": name}},
			Spec: func() corev1.PodSpec {
				s := pod("", "", "").Spec
				s.RestartPolicy = corev1.RestartPolicyNever
				return s
			}(),
		}},
	}
}

// TestDeletePropagation checks the finalizers each policy sets and whether the object
// stays, per kind, as the generic registry does.
func TestDeletePropagation(t *testing.T) {
	cases := []struct {
		name     string
		obj      runtime.Object
		resource string
		opts     DeleteOptions
		// fins are the finalizers of the object left being deleted; nil means removed.
		fins []string
	}{
		{"deployment default (background)", deployment("d"), "deployments", DeleteOptions{}, nil},
		{"deployment background", deployment("d"), "deployments", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)}, nil},
		{"deployment foreground", deployment("d"), "deployments", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}, []string{metav1.FinalizerDeleteDependents}},
		{"deployment orphan", deployment("d"), "deployments", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan)}, []string{metav1.FinalizerOrphanDependents}},
		{"deployment orphanDependents=true", deployment("d"), "deployments", DeleteOptions{OrphanDependents: ptr(true)}, []string{metav1.FinalizerOrphanDependents}},
		{"batch/v1 job default (orphan)", job("j"), "jobs", DeleteOptions{}, []string{metav1.FinalizerOrphanDependents}},
		{"batch/v1 job background", job("j"), "jobs", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)}, nil},
		{"batch/v1 job orphanDependents=false", job("j"), "jobs", DeleteOptions{OrphanDependents: ptr(false)}, nil},
		{"configmap keeps its own finalizer", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "c", Finalizers: []string{"example.com/hold"}}}, "configmaps",
			DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}, []string{"example.com/hold", metav1.FinalizerDeleteDependents}},
		{"unscheduled pod foreground", pod("default", "p", ""), "pods", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}, []string{metav1.FinalizerDeleteDependents}},
		{"events are never finalized", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "e"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}},
			"events", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, l, admin := newServer(t)
			created, err := admin.Create(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			l.RunFor(7 * time.Second)
			cm := accessor(created)
			out, err := admin.Delete(tc.resource, "default", cm.GetName(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := admin.Get(tc.resource, "default", cm.GetName())
			if tc.fins == nil {
				if code(err) != 404 {
					t.Fatalf("the object must be gone: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := accessor(got)
			if !reflect.DeepEqual(m.GetFinalizers(), tc.fins) || !reflect.DeepEqual(accessor(out).GetFinalizers(), tc.fins) {
				t.Errorf("finalizers %v (returned %v), want %v", m.GetFinalizers(), accessor(out).GetFinalizers(), tc.fins)
			}
			if ts := m.GetDeletionTimestamp(); ts == nil || !ts.Time.Equal(l.Now()) || gracePeriod(m) != 0 || m.GetDeletionGracePeriodSeconds() == nil {
				t.Errorf("deletionTimestamp %v grace %v, want now (%v) and 0", ts, m.GetDeletionGracePeriodSeconds(), l.Now())
			}
			if m.GetGeneration() != cm.GetGeneration()+1 {
				t.Errorf("generation %d, want %d (bumped when the deletion starts)", m.GetGeneration(), cm.GetGeneration()+1)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestDeleteChangesPolicy checks that a second delete may change the GC finalizers of an
// object that is held only by finalizers, and that emptying them removes it.
func TestDeleteChangesPolicy(t *testing.T) {
	_, l, admin := newServer(t)
	if _, err := admin.Create(deployment("d")); err != nil {
		t.Fatal(err)
	}
	first, err := admin.Delete("deployments", "default", "d", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)})
	if err != nil {
		t.Fatal(err)
	}
	l.RunFor(3 * time.Second)
	// Repeating the same request writes nothing.
	again, err := admin.Delete("deployments", "default", "d", DeleteOptions{})
	if err != nil || accessor(again).GetResourceVersion() != accessor(first).GetResourceVersion() {
		t.Fatalf("a repeated delete must be a no-op: %v", err)
	}
	orphan, err := admin.Delete("deployments", "default", "d", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan)})
	if err != nil {
		t.Fatal(err)
	}
	om := accessor(orphan)
	if !reflect.DeepEqual(om.GetFinalizers(), []string{metav1.FinalizerOrphanDependents}) || !om.GetDeletionTimestamp().Equal(accessor(first).GetDeletionTimestamp()) {
		t.Fatalf("finalizers %v, deletionTimestamp %v: want [orphan] and the first request's time", om.GetFinalizers(), om.GetDeletionTimestamp())
	}
	if _, err := admin.Delete("deployments", "default", "d", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Get("deployments", "default", "d"); code(err) != 404 {
		t.Fatalf("a background delete of an object held only by a GC finalizer removes it: %v", err)
	}
}

// TestDeleteGracefulPodWithForeground checks a pod on a node deleted in the foreground: the
// grace period and the finalizer both hold it; a later grace-0 delete (the kubelet's) leaves
// it to the finalizer, whose removal deletes it.
func TestDeleteGracefulPodWithForeground(t *testing.T) {
	_, l, admin := newServer(t)
	if _, err := admin.Create(pod("default", "p", "n1")); err != nil {
		t.Fatal(err)
	}
	l.RunFor(10 * time.Second)
	out, err := admin.Delete("pods", "default", "p", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*corev1.Pod)
	if !p.DeletionTimestamp.Time.Equal(l.Now().Add(30*time.Second)) || *p.DeletionGracePeriodSeconds != 30 || !reflect.DeepEqual(p.Finalizers, []string{metav1.FinalizerDeleteDependents}) {
		t.Fatalf("deletionTimestamp %v grace %d finalizers %v", p.DeletionTimestamp, *p.DeletionGracePeriodSeconds, p.Finalizers)
	}
	// A pending graceful deletion ignores a new policy (finalizers cannot change then).
	same, err := admin.Delete("pods", "default", "p", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan)})
	if err != nil || same.(*corev1.Pod).ResourceVersion != p.ResourceVersion {
		t.Fatalf("a pending graceful deletion must not change: %v", err)
	}
	l.RunFor(5 * time.Second)
	zero := int64(0)
	out, err = admin.Delete("pods", "default", "p", DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil {
		t.Fatal(err)
	}
	p = out.(*corev1.Pod)
	if !p.DeletionTimestamp.Time.Equal(l.Now().Add(-5*time.Second)) || *p.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("a shorter grace period moves the deadline back by the difference: %v grace %d", p.DeletionTimestamp, *p.DeletionGracePeriodSeconds)
	}
	if _, err := admin.Get("pods", "default", "p"); err != nil {
		t.Fatalf("the finalizer must hold the pod: %v", err)
	}
	held := p.DeepCopy()
	held.Finalizers = nil
	if _, err := admin.Update(held); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Get("pods", "default", "p"); code(err) != 404 {
		t.Fatalf("removing the finalizer must delete the pod: %v", err)
	}
}

// TestDeleteOptionsValidation checks the 422s and the precondition conflicts.
func TestDeleteOptionsValidation(t *testing.T) {
	_, _, admin := newServer(t)
	created, err := admin.Create(deployment("d"))
	if err != nil {
		t.Fatal(err)
	}
	uid := created.(*appsv1.Deployment).UID
	cases := []struct {
		name string
		opts DeleteOptions
		code int32
		msg  string
	}{
		{"unknown policy", DeleteOptions{PropagationPolicy: policy("Sideways")}, 422,
			`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"`},
		{"both forms", DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan), OrphanDependents: ptr(true)}, 422,
			"orphanDependents and deletionPropagation cannot be both set"},
		{"stale uid", DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(types.UID("other"))}}, 409,
			`Operation cannot be fulfilled on Deployment.apps "d": the UID in the precondition (other) does not match the UID in record (` + string(uid) + `). The object might have been deleted and then recreated`},
		{"stale resourceVersion", DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr("1")}}, 409,
			`the ResourceVersion in the precondition (1) does not match the ResourceVersion in record`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := admin.Delete("deployments", "default", "d", tc.opts)
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %d %v, want %d %q", code(err), err, tc.code, tc.msg)
			}
		})
	}
	if _, err := admin.Get("deployments", "default", "d"); err != nil {
		t.Fatalf("refused deletes must leave the object: %v", err)
	}
}
