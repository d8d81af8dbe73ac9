package disruption_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/disruption"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// harness is an API server with the disruption controller and no other component: the
// test plays the kubelets and workload controllers through the admin client.
type harness struct {
	t       *testing.T
	l       *loop.Loop
	admin   *apiserver.Client
	entries []eventlog.Entry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, l: l, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
	log.Subscribe(func(e *eventlog.Entry) { h.entries = append(h.entries, *e) })
	cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	pdbs := informer.New(cm, "poddisruptionbudgets", "", apiserver.Filter{})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	rss := informer.New(cm, "replicasets", "", apiserver.Filter{})
	deploys := informer.New(cm, "deployments", "", apiserver.Filter{})
	disruption.New(l, log, cm, pdbs, pods, rss, deploys, disruption.Options{})
	for _, inf := range []*informer.Informer{pdbs, pods, rss, deploys} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) create(obj runtime.Object) runtime.Object {
	h.t.Helper()
	out, err := h.admin.Create(obj)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

var webLabels = map[string]string{"app": "web"}

// owner creates the workload the pods belong to and returns their controller reference.
func (h *harness) owner(kind string, replicas int32) *metav1.OwnerReference {
	h.t.Helper()
	sel := &metav1.LabelSelector{MatchLabels: webLabels}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: webLabels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
	rs := func(owner *metav1.OwnerReference) *metav1.OwnerReference {
		obj := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-rs"}, Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}
		if owner != nil {
			obj.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		out := h.create(obj).(*appsv1.ReplicaSet)
		return metav1.NewControllerRef(out, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	}
	switch kind {
	case "ReplicaSet":
		return rs(nil)
	case "Deployment":
		d := h.create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}).(*appsv1.Deployment)
		return rs(metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment")))
	case "Job":
		// Orrery serves no Jobs yet: a reference to one names a controller the disruption
		// controller cannot scale.
		return &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: "batch", UID: types.UID("job-uid"), Controller: ptr(true)}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// pods creates n running pods web-0.. owned by ref, the first ready of them Ready.
func (h *harness) pods(n, ready int, ref *metav1.OwnerReference) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("web-%d", i), Labels: webLabels},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
		if ref != nil {
			p.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		p = h.create(p).(*corev1.Pod)
		st := corev1.ConditionFalse
		if i < ready {
			st = corev1.ConditionTrue
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		if _, err := h.admin.UpdateStatus(p); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) pdb(minAvailable, maxUnavailable *intstr.IntOrString) {
	h.create(&policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable, Selector: &metav1.LabelSelector{MatchLabels: webLabels}},
	})
}

func (h *harness) getPDB() *policyv1.PodDisruptionBudget {
	h.t.Helper()
	obj, err := h.admin.Get("poddisruptionbudgets", "default", "web")
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*policyv1.PodDisruptionBudget)
}

// events returns the core/v1 Events with reason.
func (h *harness) events(reason string) []*corev1.Event {
	h.t.Helper()
	res, err := h.admin.List("events", "default", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*corev1.Event
	for _, o := range res.Items {
		if ev := o.(*corev1.Event); ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

func TestBudgetStatus(t *testing.T) {
	i := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	tests := []struct {
		name          string
		owner         string // "", ReplicaSet, Deployment, Job
		replicas      int32  // the owner's scale
		pods, ready   int
		min, max      *intstr.IntOrString
		expected      int32
		desired       int32
		healthy       int32
		allowed       int32
		reason        string // of the DisruptionAllowed condition
		warning       string // an event the budget must have
		failedMessage string
	}{
		{name: "minAvailable 2 of 3 ready", pods: 3, ready: 3, min: i(2), expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason},
		{name: "minAvailable 2 with 2 of 3 ready", pods: 3, ready: 2, min: i(2), expected: 3, desired: 2, healthy: 2, allowed: 0, reason: policyv1.InsufficientPodsReason},
		{name: "minAvailable 2 of 1 pod", pods: 1, ready: 1, min: i(2), expected: 1, desired: 2, healthy: 1, allowed: 0, reason: policyv1.InsufficientPodsReason},
		{name: "maxUnavailable 25% of a Deployment of 4", owner: "Deployment", replicas: 4, pods: 4, ready: 4, max: pct("25%"), expected: 4, desired: 3, healthy: 4, allowed: 1, reason: policyv1.SufficientPodsReason},
		{name: "maxUnavailable 25% of a Deployment of 3 rounds up", owner: "Deployment", replicas: 3, pods: 3, ready: 3, max: pct("25%"), expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason},
		{name: "maxUnavailable 25% of a ReplicaSet of 8, 2 unready", owner: "ReplicaSet", replicas: 8, pods: 8, ready: 6, max: pct("25%"), expected: 8, desired: 6, healthy: 6, allowed: 0, reason: policyv1.InsufficientPodsReason},
		{name: "maxUnavailable 1 counts the scale, not the pods", owner: "ReplicaSet", replicas: 5, pods: 3, ready: 3, max: i(1), expected: 5, desired: 4, healthy: 3, allowed: 0, reason: policyv1.InsufficientPodsReason},
		{name: "minAvailable 50% of 3 rounds up", owner: "ReplicaSet", replicas: 3, pods: 3, ready: 3, min: pct("50%"), expected: 3, desired: 2, healthy: 3, allowed: 1, reason: policyv1.SufficientPodsReason},
		{name: "minAvailable 90% of 3 rounds up to all", owner: "ReplicaSet", replicas: 3, pods: 3, ready: 3, min: pct("90%"), expected: 3, desired: 3, healthy: 3, allowed: 0, reason: policyv1.InsufficientPodsReason},
		{name: "maxUnavailable of unmanaged pods expects none", pods: 2, ready: 2, max: i(1), expected: 0, desired: 0, healthy: 2, allowed: 0, reason: policyv1.InsufficientPodsReason, warning: "UnmanagedPods"},
		{name: "no pods", pods: 0, min: i(1), expected: 0, desired: 1, healthy: 0, allowed: 0, reason: policyv1.InsufficientPodsReason, warning: "NoPods"},
		{name: "percentage of an unknown controller fails safe", owner: "Job", pods: 2, ready: 2, min: pct("50%"), reason: policyv1.SyncFailedReason,
			warning: "CalculateExpectedPodCountFailed", failedMessage: `found no controllers for pod "web-0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.pods(tt.pods, tt.ready, h.owner(tt.owner, tt.replicas))
			h.pdb(tt.min, tt.max)
			h.l.RunFor(time.Second)
			st := h.getPDB().Status
			if st.ExpectedPods != tt.expected || st.DesiredHealthy != tt.desired || st.CurrentHealthy != tt.healthy || st.DisruptionsAllowed != tt.allowed {
				t.Errorf("expected/desired/healthy/allowed = %d/%d/%d/%d, want %d/%d/%d/%d", st.ExpectedPods, st.DesiredHealthy, st.CurrentHealthy, st.DisruptionsAllowed,
					tt.expected, tt.desired, tt.healthy, tt.allowed)
			}
			cond := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
			if cond == nil || cond.Reason != tt.reason || (cond.Status == metav1.ConditionTrue) != (tt.allowed > 0) || cond.Message != tt.failedMessage {
				t.Errorf("condition %+v, want reason %s message %q", cond, tt.reason, tt.failedMessage)
			}
			wantGen := int64(1)
			if tt.failedMessage != "" {
				wantGen = 0 // a failed sync observes nothing
			}
			if st.ObservedGeneration != wantGen {
				t.Errorf("observedGeneration %d, want %d", st.ObservedGeneration, wantGen)
			}
			if tt.warning != "" && len(h.events(tt.warning)) == 0 {
				t.Errorf("no %s event", tt.warning)
			}
		})
	}
}

// TestDisruptedPodExpires: an eviction approved in disruptedPods keeps the pod out of the
// healthy count until DeletionTimeout, then the controller drops it with a NotDeleted event.
func TestDisruptedPodExpires(t *testing.T) {
	h := newHarness(t)
	h.pods(3, 3, nil)
	two := intstr.FromInt32(2)
	h.pdb(&two, nil)
	h.l.RunFor(10 * time.Second)
	pdb := h.getPDB()
	if pdb.Status.DisruptionsAllowed != 1 {
		t.Fatalf("allowed %d, want 1", pdb.Status.DisruptionsAllowed)
	}
	// As the Eviction API would, without the delete that should follow.
	pdb.Status.DisruptionsAllowed = 0
	pdb.Status.DisruptedPods = map[string]metav1.Time{"web-0": metav1.NewTime(h.l.Now())}
	if _, err := h.admin.UpdateStatus(pdb); err != nil {
		t.Fatal(err)
	}
	h.l.RunFor(2 * time.Minute) // to 2m10s: the entry is still awaited
	st := h.getPDB().Status
	if st.CurrentHealthy != 2 || st.DisruptionsAllowed != 0 || len(st.DisruptedPods) != 1 {
		t.Fatalf("at 2m10s: %+v", st)
	}
	h.l.RunFor(time.Second)
	st = h.getPDB().Status
	if st.CurrentHealthy != 3 || st.DisruptionsAllowed != 1 || len(st.DisruptedPods) != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
	var at time.Duration = -1
	for _, e := range h.entries {
		if e.Resource == "poddisruptionbudgets/status" && e.Actor == apiserver.ControllerManagerUser && e.At > 2*time.Minute {
			at = e.At
			break
		}
	}
	// 10 s + DeletionTimeout + the recheck's rate-limiter delay.
	if want := 10*time.Second + disruption.DeletionTimeout + disruption.RecheckDelay; at != want {
		t.Errorf("entry dropped at %v, want %v", at, want)
	}
	if evs := h.events("NotDeleted"); len(evs) != 1 || evs[0].InvolvedObject.Name != "web-0" || evs[0].Message != "Pod was expected by PDB default/default to be deleted but it wasn't" {
		t.Errorf("NotDeleted events %+v", evs)
	}
}

// TestStaleDisruptionTarget: a DisruptionTarget condition on a pod never deleted is set to
// False StalePodDisruptionTimeout after its transition.
func TestStaleDisruptionTarget(t *testing.T) {
	h := newHarness(t)
	h.pods(1, 1, nil)
	h.l.RunFor(5 * time.Second)
	obj, _ := h.admin.Get("pods", "default", "web-0")
	p := obj.(*corev1.Pod)
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "EvictionByEvictionAPI", LastTransitionTime: metav1.NewTime(h.l.Now())})
	if _, err := h.admin.UpdateStatus(p); err != nil {
		t.Fatal(err)
	}
	h.l.RunFor(3 * time.Minute)
	var at time.Duration = -1
	for _, e := range h.entries {
		if e.Reason == "StaleDisruptionTargetReset" {
			at = e.At
		}
	}
	if want := 5*time.Second + disruption.StalePodDisruptionTimeout; at != want {
		t.Errorf("reset at %v, want %v", at, want)
	}
	obj, _ = h.admin.Get("pods", "default", "web-0")
	for _, c := range obj.(*corev1.Pod).Status.Conditions {
		if c.Type == corev1.DisruptionTarget && (c.Status != corev1.ConditionFalse || c.Reason != "") {
			t.Errorf("condition %+v", c)
		}
	}
}
