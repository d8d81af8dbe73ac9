package drain_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/disruption"
	"github.com/orrery-sim/orrery/sim/drain"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// minimal is an API server alone with node n1 and an admin; the test plays the rest.
type minimal struct {
	t       *testing.T
	l       *loop.Loop
	log     *eventlog.Log
	admin   *apiserver.Client
	actions []eventlog.Entry
}

func newMinimal(t *testing.T) *minimal {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &minimal{t: t, l: l, log: log, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
	log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() {
			m.actions = append(m.actions, *e)
		}
	})
	m.create(simtest.Node("n1", "4", "8Gi"))
	return m
}

func (m *minimal) create(obj runtime.Object) runtime.Object {
	m.t.Helper()
	out, err := m.admin.Create(obj)
	if err != nil {
		m.t.Fatal(err)
	}
	return out
}

// pod creates a running pod on n1 with the given controller (kind "" for none).
func (m *minimal) pod(name, controllerKind string, mutate func(*corev1.Pod)) {
	m.t.Helper()
	p := simtest.Pod(name, "100m", "64Mi")
	p.Spec.NodeName = "n1"
	if controllerKind != "" {
		ctl := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: controllerKind, Name: "owner", UID: types.UID("owner-uid"), Controller: &ctl}}
	}
	if mutate != nil {
		mutate(p)
	}
	m.create(p)
}

func TestDrainFilters(t *testing.T) {
	setup := func(m *minimal) {
		m.create(&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "owner"}, Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ds"}}, Spec: simtest.Pod("x", "1m", "1Mi").Spec},
		}})
		m.pod("bare", "", nil)
		m.pod("ds-pod", "DaemonSet", nil)
		m.pod("cache", "ReplicaSet", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		})
		m.pod("static", "", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} })
		m.pod("web", "ReplicaSet", nil)
	}
	zero := int64(0)
	tests := []struct {
		name     string
		opts     drain.Options
		err      string
		evicted  []string
		warnings []string
	}{
		{name: "refuses", opts: drain.Options{}, err: "[cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds-pod, " +
			"cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache, " +
			"cannot delete Pods that declare no controller (use --force to override): default/bare]"},
		{name: "forced", opts: drain.Options{Force: true, IgnoreDaemonSets: true, DeleteEmptyDirData: true, GracePeriodSeconds: &zero},
			evicted: []string{"bare", "cache", "web"},
			// As kubectl, only the last filter's warning is kept: the local-storage one of
			// a managed pod is lost.
			warnings: []string{"Warning: deleting Pods that declare no controller: default/bare",
				"Warning: ignoring DaemonSet-managed Pods: default/ds-pod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMinimal(t)
			setup(m)
			m.l.RunFor(10 * time.Second)
			var got error
			calls := 0
			d := drain.Start(m.l, m.log, m.admin, "n1", tt.opts, func(err error) { got = err; calls++ })
			m.l.RunFor(time.Minute)
			if calls != 1 || !d.Done() {
				t.Fatalf("done called %d times", calls)
			}
			if !simtestNodeCordoned(t, m.admin, "n1") {
				t.Error("node not cordoned")
			}
			if tt.err != "" {
				if got == nil || got.Error() != tt.err {
					t.Fatalf("err = %v\nwant %s", got, tt.err)
				}
			} else if got != nil {
				t.Fatal(got)
			}
			gone := map[string]bool{}
			for _, name := range []string{"bare", "ds-pod", "cache", "static", "web"} {
				if _, err := m.admin.Get("pods", "default", name); apierrors.IsNotFound(err) {
					gone[name] = true
				}
			}
			for _, name := range tt.evicted {
				if !gone[name] {
					t.Errorf("%s not evicted", name)
				}
				delete(gone, name)
			}
			if len(gone) > 0 {
				t.Errorf("evicted more: %v", gone)
			}
			var warnings []string
			var drained time.Duration = -1
			for _, a := range m.actions {
				switch a.Reason {
				case "DrainWarning":
					warnings = append(warnings, a.Message)
				case "NodeDrained":
					drained = a.At
				}
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %q", warnings, tt.warnings)
			}
			for i := range warnings {
				if warnings[i] != tt.warnings[i] {
					t.Errorf("warning %q, want %q", warnings[i], tt.warnings[i])
				}
			}
			// With grace period 0 the pods are gone at the first check.
			if tt.err == "" && drained != 10*time.Second {
				t.Errorf("drained at %v, want 10s", drained)
			}
		})
	}
}

func simtestNodeCordoned(t *testing.T, c *apiserver.Client, node string) bool {
	t.Helper()
	obj, err := c.Get("nodes", "", node)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*corev1.Node).Spec.Unschedulable
}

func TestCordonUncordon(t *testing.T) {
	m := newMinimal(t)
	for i, step := range []struct {
		fn      func(*apiserver.Client, string) (bool, error)
		changed bool
		want    bool
	}{{drain.Cordon, true, true}, {drain.Cordon, false, true}, {drain.Uncordon, true, false}, {drain.Uncordon, false, false}} {
		changed, err := step.fn(m.admin, "n1")
		if err != nil {
			t.Fatal(err)
		}
		if changed != step.changed || simtestNodeCordoned(t, m.admin, "n1") != step.want {
			t.Errorf("step %d: changed %v cordoned %v", i, changed, !step.want)
		}
	}
	if _, err := drain.Cordon(m.admin, "nope"); !apierrors.IsNotFound(err) {
		t.Errorf("missing node: %v", err)
	}
}

// webDeployment is 3 replicas of app=web.
func webDeployment() *appsv1.Deployment {
	three := int32(3)
	p := simtest.Pod("web", "100m", "64Mi")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}},
	}
}

// TestDrainRespectsBudget drains a node holding the 3 replicas of a Deployment guarded by
// a PDB with minAvailable 2: the pods are evicted one at a time, each after its
// replacement is ready, kubectl retrying the refused ones every 5 s.
func TestDrainRespectsBudget(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	cm := c.API.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	pdbs := informer.New(cm, "poddisruptionbudgets", "", apiserver.Filter{})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	pods.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	rss := informer.New(cm, "replicasets", "", apiserver.Filter{})
	deploys := informer.New(cm, "deployments", "", apiserver.Filter{})
	disruption.New(c.Loop, c.Log, cm, pdbs, pods, rss, deploys, disruption.Options{})
	for _, inf := range []*informer.Informer{pdbs, pods, rss, deploys} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}

	// All three replicas on n1: n2 is cordoned until they run.
	if _, err := drain.Cordon(c.Admin, "n2"); err != nil {
		t.Fatal(err)
	}
	two := intstr.FromInt32(2)
	c.Apply(webDeployment(), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	})
	c.RunFor(time.Minute)
	var original []string
	for _, p := range c.Pods() {
		if p.Spec.NodeName != "n1" || !controllers.IsPodReady(p) {
			t.Fatalf("pod %s on %q ready %v before the drain", p.Name, p.Spec.NodeName, controllers.IsPodReady(p))
		}
		original = append(original, p.Name)
	}
	if len(original) != 3 {
		t.Fatalf("%d pods before the drain", len(original))
	}
	if _, err := drain.Uncordon(c.Admin, "n2"); err != nil {
		t.Fatal(err)
	}
	obj, _ := c.Admin.Get("poddisruptionbudgets", "default", "web")
	if st := obj.(*policyv1.PodDisruptionBudget).Status; st.DisruptionsAllowed != 1 || st.CurrentHealthy != 3 {
		t.Fatalf("budget before the drain: %+v", st)
	}

	// Ready pods of the Deployment not being deleted, after every change the API server
	// makes (read from the store, not a cache).
	minReady, ready := 3, func() int {
		n := 0
		for _, p := range c.Pods() {
			if p.DeletionTimestamp == nil && controllers.IsPodReady(p) {
				n++
			}
		}
		return n
	}
	var entries []eventlog.Entry
	c.Log.Subscribe(func(e *eventlog.Entry) {
		entries = append(entries, *e)
		if e.Resource == "pods" || e.Resource == "pods/status" || e.Resource == "pods/eviction" {
			minReady = min(minReady, ready())
		}
	})

	start := c.Loop.Elapsed()
	var doneAt time.Duration = -1
	var doneErr error
	drain.Start(c.Loop, c.Log, c.Admin, "n1", drain.Options{}, func(err error) { doneAt, doneErr = c.Loop.Elapsed(), err })
	c.RunFor(5 * time.Minute)
	if doneAt < 0 || doneErr != nil {
		t.Fatalf("drain finished at %v with %v", doneAt, doneErr)
	}
	if minReady != 2 {
		t.Errorf("ready pods fell to %d, want never below 2 (and 2 during each eviction)", minReady)
	}

	// Evictions: every attempt, and which succeeded.
	var evicted, refused []time.Duration
	for _, e := range entries {
		if e.Resource != "pods/eviction" {
			continue
		}
		switch e.Code {
		case 201:
			evicted = append(evicted, e.At-start)
		case 429:
			refused = append(refused, e.At-start)
		default:
			t.Errorf("eviction answered %d: %s", e.Code, e.Message)
		}
	}
	t.Logf("evicted at %v, refused at %v, drained %v after the start", evicted, refused, doneAt-start)
	wantEvicted := []time.Duration{0, 5 * time.Second, 10 * time.Second}
	wantRefused := []time.Duration{0, 0, 5 * time.Second}
	if !equalDurations(evicted, wantEvicted) || !equalDurations(refused, wantRefused) {
		t.Errorf("evicted at %v, refused at %v; want %v and %v", evicted, refused, wantEvicted, wantRefused)
	}
	// The last pod exits 100 ms after its SIGTERM and kubectl sees it gone at its next
	// 1 s check.
	if d := doneAt - start; d != 11*time.Second {
		t.Errorf("drain completed %v after the start, want 11s", d)
	}
	obj, _ = c.Admin.Get("poddisruptionbudgets", "default", "web")
	if st := obj.(*policyv1.PodDisruptionBudget).Status; st.DisruptionsAllowed != 1 || st.CurrentHealthy != 3 || len(st.DisruptedPods) != 0 {
		t.Errorf("budget after the drain: %+v", st)
	}
	for _, name := range original {
		if c.Pod(name) != nil {
			t.Errorf("%s still exists", name)
		}
	}
	var onN2 int
	for _, p := range c.Pods() {
		if p.Spec.NodeName == "n2" && controllers.IsPodReady(p) {
			onN2++
		}
	}
	if onN2 != 3 {
		t.Errorf("%d ready replicas on n2 after the drain, want 3", onN2)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDrainTimeout: a budget that never allows a disruption keeps kubectl retrying until
// --timeout, seen at the first retry after it.
func TestDrainTimeout(t *testing.T) {
	m := newMinimal(t)
	for _, name := range []string{"web-a", "web-b"} {
		m.pod(name, "ReplicaSet", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "web"} })
		obj, _ := m.admin.Get("pods", "default", name)
		p := obj.(*corev1.Pod)
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if _, err := m.admin.UpdateStatus(p); err != nil {
			t.Fatal(err)
		}
	}
	two := intstr.FromInt32(2)
	pdb := m.create(&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}).(*policyv1.PodDisruptionBudget)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 2}
	if _, err := m.admin.UpdateStatus(pdb); err != nil {
		t.Fatal(err)
	}
	var doneAt time.Duration = -1
	var got error
	drain.Start(m.l, m.log, m.admin, "n1", drain.Options{Timeout: 12 * time.Second}, func(err error) { doneAt, got = m.l.Elapsed(), err })
	m.l.RunFor(time.Minute)
	if doneAt != 15*time.Second {
		t.Errorf("gave up at %v, want 15s (attempts at 0, 5, 10 s; the timeout seen at 15 s)", doneAt)
	}
	want := `[error when evicting pods/"web-a" -n "default": global timeout reached: 12s, error when evicting pods/"web-b" -n "default": global timeout reached: 12s]`
	if got == nil || got.Error() != want {
		t.Fatalf("err = %v\nwant %s", got, want)
	}
	retries := 0
	for _, a := range m.actions {
		if a.Reason == "EvictionRetry" {
			retries++
			if want := `error when evicting pods/"` + a.Name + `" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`; a.Message != want {
				t.Errorf("retry message %q", a.Message)
			}
		}
	}
	if retries != 6 {
		t.Errorf("%d refused evictions, want 6", retries)
	}
}
