package apiserver

import (
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// evictionFixture is an API server with an admin client and a log of its requests.
type evictionFixture struct {
	t       *testing.T
	s       *Server
	l       *loop.Loop
	admin   *Client
	entries []eventlog.Entry
}

func newEvictionFixture(t *testing.T) *evictionFixture {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	s, err := New(l, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &evictionFixture{t: t, s: s, l: l, admin: s.ClientFor(User{Name: AdminUser, Groups: []string{MastersGroup}})}
	log.Subscribe(func(e *eventlog.Entry) { f.entries = append(f.entries, *e) })
	return f
}

// pod creates a pod labelled app=web on node (if not empty) in phase with the Ready
// condition ready.
func (f *evictionFixture) pod(name, node string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	f.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}
	obj, err := f.admin.Create(p)
	if err != nil {
		f.t.Fatal(err)
	}
	p = obj.(*corev1.Pod)
	p.Status.Phase = phase
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	obj, err = f.admin.UpdateStatus(p)
	if err != nil {
		f.t.Fatal(err)
	}
	return obj.(*corev1.Pod)
}

// pdb creates a budget over app=web with the given status; stale leaves observedGeneration
// behind the generation.
func (f *evictionFixture) pdb(name string, allowed, current, desired int32, policy *policyv1.UnhealthyPodEvictionPolicyType, stale bool) {
	f.t.Helper()
	two := intstr.FromInt32(2)
	obj, err := f.admin.Create(&policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, UnhealthyPodEvictionPolicy: policy},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	pdb := obj.(*policyv1.PodDisruptionBudget)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, CurrentHealthy: current, DesiredHealthy: desired, ExpectedPods: 3, ObservedGeneration: pdb.Generation}
	if stale {
		pdb.Status.ObservedGeneration = 0
	}
	if _, err := f.admin.UpdateStatus(pdb); err != nil {
		f.t.Fatal(err)
	}
}

func (f *evictionFixture) getPDB(name string) *policyv1.PodDisruptionBudget {
	f.t.Helper()
	obj, err := f.admin.Get("poddisruptionbudgets", "default", name)
	if err != nil {
		f.t.Fatal(err)
	}
	return obj.(*policyv1.PodDisruptionBudget)
}

// lastEviction returns the event-log entry of the last eviction request.
func (f *evictionFixture) lastEviction() eventlog.Entry {
	for i := len(f.entries) - 1; i >= 0; i-- {
		if f.entries[i].Resource == "pods/eviction" {
			return f.entries[i]
		}
	}
	f.t.Fatal("no eviction recorded")
	return eventlog.Entry{}
}

func TestEvictionBudget(t *testing.T) {
	always := policyv1.AlwaysAllow
	tests := []struct {
		name    string
		phase   corev1.PodPhase
		node    string
		ready   bool
		allowed int32 // budget status: disruptionsAllowed, currentHealthy, desiredHealthy
		current int32
		desired int32
		policy  *policyv1.UnhealthyPodEvictionPolicyType
		stale   bool
		noPDB   bool
		wantErr int32 // HTTP code of the error, 0 for success
		cause   string
		spent   bool // whether the budget was spent (disruptionsAllowed decremented)
	}{
		{name: "budget-left", phase: corev1.PodRunning, node: "n1", ready: true, allowed: 1, current: 3, desired: 2, spent: true},
		{name: "budget-exhausted", phase: corev1.PodRunning, node: "n1", ready: true, allowed: 0, current: 2, desired: 2, wantErr: http.StatusTooManyRequests,
			cause: "The disruption budget web needs 2 healthy pods and has 2 currently"},
		{name: "stale-status", phase: corev1.PodRunning, node: "n1", ready: true, allowed: 1, current: 3, desired: 2, stale: true, wantErr: http.StatusTooManyRequests,
			cause: "The disruption budget web is still being processed by the server."},
		{name: "pending-ignores-budget", phase: corev1.PodPending, node: "", allowed: 0, current: 2, desired: 2},
		{name: "succeeded-ignores-budget", phase: corev1.PodSucceeded, node: "n1", allowed: 0, current: 2, desired: 2},
		{name: "failed-ignores-budget", phase: corev1.PodFailed, node: "n1", allowed: 0, current: 2, desired: 2},
		{name: "unready-always-allow", phase: corev1.PodRunning, node: "n1", ready: false, allowed: 0, current: 1, desired: 2, policy: &always},
		{name: "unready-healthy-budget", phase: corev1.PodRunning, node: "n1", ready: false, allowed: 0, current: 2, desired: 2},
		{name: "unready-unhealthy-budget", phase: corev1.PodRunning, node: "n1", ready: false, allowed: 0, current: 1, desired: 2, wantErr: http.StatusTooManyRequests,
			cause: "The disruption budget web needs 2 healthy pods and has 1 currently"},
		{name: "no-budget", phase: corev1.PodRunning, node: "n1", ready: true, noPDB: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEvictionFixture(t)
			f.l.RunFor(time.Second) // evictions happen at 1s
			p := f.pod("web-1", tt.node, tt.phase, tt.ready)
			if !tt.noPDB {
				f.pdb("web", tt.allowed, tt.current, tt.desired, tt.policy, tt.stale)
			}
			err := f.admin.Evict("default", "web-1", DeleteOptions{})
			got := f.lastEviction()
			if tt.wantErr != 0 {
				se, ok := err.(*apierrors.StatusError)
				if !ok || se.ErrStatus.Code != tt.wantErr {
					t.Fatalf("err = %v, want code %d", err, tt.wantErr)
				}
				if se.ErrStatus.Message != MessageEvictionViolatesBudget || se.ErrStatus.Reason != metav1.StatusReasonTooManyRequests {
					t.Errorf("status %q %q", se.ErrStatus.Reason, se.ErrStatus.Message)
				}
				if c := se.ErrStatus.Details.Causes; len(c) != 1 || c[0].Type != policyv1.DisruptionBudgetCause || c[0].Message != tt.cause {
					t.Errorf("causes %+v, want %q", c, tt.cause)
				}
				if got.Code != int(tt.wantErr) || got.Actor != AdminUser || got.Verb != "create" {
					t.Errorf("recorded %+v", got)
				}
				cur, _ := f.admin.Get("pods", "default", "web-1")
				if cur.(*corev1.Pod).DeletionTimestamp != nil {
					t.Error("a refused eviction deleted the pod")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Code != http.StatusCreated || got.Revision == 0 {
				t.Errorf("recorded %+v, want 201 with a revision", got)
			}
			obj, err := f.admin.Get("pods", "default", "web-1")
			if tt.node == "" || tt.phase == corev1.PodSucceeded || tt.phase == corev1.PodFailed {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("pod should be gone at once, got %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				cur := obj.(*corev1.Pod)
				if cur.DeletionTimestamp == nil || !cur.DeletionTimestamp.Time.Equal(loop.Epoch.Add(31*time.Second)) {
					t.Errorf("deletionTimestamp %v, want 30 s grace from 1s", cur.DeletionTimestamp)
				}
				var cond *corev1.PodCondition
				for i := range cur.Status.Conditions {
					if cur.Status.Conditions[i].Type == corev1.DisruptionTarget {
						cond = &cur.Status.Conditions[i]
					}
				}
				if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "EvictionByEvictionAPI" || cond.Message != "Eviction API: evicting" {
					t.Errorf("DisruptionTarget condition %+v", cond)
				}
				if cur.UID != p.UID {
					t.Error("another pod")
				}
			}
			if tt.noPDB {
				return
			}
			pdb := f.getPDB("web")
			if tt.spent {
				if pdb.Status.DisruptionsAllowed != tt.allowed-1 {
					t.Errorf("disruptionsAllowed %d, want %d", pdb.Status.DisruptionsAllowed, tt.allowed-1)
				}
				if at, ok := pdb.Status.DisruptedPods["web-1"]; !ok || !at.Time.Equal(loop.Epoch.Add(time.Second)) {
					t.Errorf("disruptedPods %v", pdb.Status.DisruptedPods)
				}
				c := pdb.Status.Conditions
				if len(c) != 1 || c[0].Type != policyv1.DisruptionAllowedCondition || c[0].Status != metav1.ConditionFalse || c[0].Reason != policyv1.InsufficientPodsReason {
					t.Errorf("conditions %+v", c)
				}
			} else if pdb.Status.DisruptionsAllowed != tt.allowed || len(pdb.Status.DisruptedPods) != 0 {
				t.Errorf("budget spent: %+v", pdb.Status)
			}
		})
	}
}

func TestEvictionMultipleBudgets(t *testing.T) {
	f := newEvictionFixture(t)
	f.pod("web-1", "n1", corev1.PodRunning, true)
	f.pdb("a", 1, 3, 2, nil, false)
	f.pdb("b", 1, 3, 2, nil, false)
	err := f.admin.Evict("default", "web-1", DeleteOptions{})
	se, ok := err.(*apierrors.StatusError)
	if !ok || se.ErrStatus.Code != 500 || se.ErrStatus.Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
		t.Fatalf("err = %#v", err)
	}
	if f.getPDB("a").Status.DisruptionsAllowed != 1 || f.getPDB("b").Status.DisruptionsAllowed != 1 {
		t.Error("a budget was spent")
	}
	if got := f.lastEviction(); got.Code != 500 {
		t.Errorf("recorded %+v", got)
	}
}

func TestEvictionAuthorisation(t *testing.T) {
	f := newEvictionFixture(t)
	f.pod("web-1", "n1", corev1.PodRunning, true)
	viewer := f.s.ClientFor(User{Name: "jane"})
	if err := viewer.Evict("default", "web-1", DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("jane: %v, want 403", err)
	}
	// Kubelets may evict their own pods only.
	err := f.s.ClientFor(NodeUser("n2")).Evict("default", "web-1", DeleteOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `pods/eviction "web-1" is forbidden: node n2 can only evict pods with spec.nodeName set to itself` {
		t.Fatalf("n2: %v", err)
	}
	if err := f.s.ClientFor(NodeUser("n1")).Evict("default", "web-1", DeleteOptions{}); err != nil {
		t.Fatalf("n1: %v", err)
	}
	// The controller manager may evict (without the right to delete pods directly it could not).
	cm := f.s.ClientFor(User{Name: ControllerManagerUser})
	if err := cm.Evict("default", "nope", DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("missing pod: %v, want 404", err)
	}
}

func TestEvictionGracePeriodAndPreconditions(t *testing.T) {
	f := newEvictionFixture(t)
	p := f.pod("web-1", "n1", corev1.PodRunning, true)
	stale := "1"
	err := f.admin.Evict("default", "web-1", DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale precondition: %v, want 409", err)
	}
	zero := int64(0)
	rv := p.ResourceVersion
	if err := f.admin.Evict("default", "web-1", DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{ResourceVersion: &rv}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.Get("pods", "default", "web-1"); !apierrors.IsNotFound(err) {
		t.Fatalf("grace 0 should delete at once: %v", err)
	}
}
