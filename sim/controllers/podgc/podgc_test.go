package podgc_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/podgc"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// harness is an API server with no kubelets: the test plays the kubelets by writing pod
// status as the admin.
type harness struct {
	t     *testing.T
	l     *loop.Loop
	log   *eventlog.Log
	api   *apiserver.Server
	admin *apiserver.Client
}

func newHarness(t *testing.T) *harness {
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, l: l, log: log, api: api, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
}

// start runs the collector on its own informers.
func (h *harness) start(opts podgc.Options) *podgc.Controller {
	cm := h.api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	nodes := informer.New(cm, "nodes", "", apiserver.Filter{})
	for _, inf := range []*informer.Informer{pods, nodes} {
		if err := inf.Start(); err != nil {
			h.t.Fatal(err)
		}
	}
	c := podgc.New(h.l, h.log, cm, pods, nodes, opts)
	c.Start()
	return c
}

func (h *harness) node(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) {
	n := simtest.Node(name, "8", "16Gi")
	n.Spec.Taints = taints
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
	if _, err := h.admin.Create(n); err != nil {
		h.t.Fatal(err)
	}
}

// pod creates a pod bound to node with the given phase (and status reason).
func (h *harness) pod(name, node string, phase corev1.PodPhase, reason string, finalizers ...string) {
	p := simtest.Pod(name, "100m", "64Mi")
	p.Spec.NodeName = node
	p.Finalizers = finalizers
	created, err := h.admin.Create(p)
	if err != nil {
		h.t.Fatal(err)
	}
	p = created.(*corev1.Pod)
	p.Status.Phase, p.Status.Reason = phase, reason
	if _, err := h.admin.UpdateStatus(p); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pods() map[string]*corev1.Pod {
	res, err := h.admin.List("pods", "", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]*corev1.Pod{}
	for _, o := range res.Items {
		out[o.(*corev1.Pod).Name] = o.(*corev1.Pod)
	}
	return out
}

func names(m map[string]*corev1.Pod) string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestCollect runs one collection over prepared pods and checks which remain.
func TestCollect(t *testing.T) {
	outOfService := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	cases := []struct {
		name    string
		prepare func(h *harness)
		opts    podgc.Options
		remain  string
		// failed are pods left (held by a finalizer) that PodGC must have marked Failed.
		failed string
	}{
		{"terminated pods over the threshold go, evicted first then oldest", func(h *harness) {
			h.node("n1", corev1.ConditionTrue)
			h.pod("a-succeeded", "n1", corev1.PodSucceeded, "")
			h.l.RunFor(time.Second)
			h.pod("b-failed", "n1", corev1.PodFailed, "")
			h.l.RunFor(time.Second)
			h.pod("c-running", "n1", corev1.PodRunning, "")
			h.l.RunFor(time.Second)
			h.pod("d-succeeded", "n1", corev1.PodSucceeded, "")
			h.l.RunFor(time.Second)
			h.pod("e-evicted", "n1", corev1.PodFailed, "Evicted")
		}, podgc.Options{TerminatedPodThreshold: 2}, "b-failed,c-running,d-succeeded", ""},
		{"under the threshold nothing goes", func(h *harness) {
			h.node("n1", corev1.ConditionTrue)
			h.pod("a", "n1", corev1.PodSucceeded, "")
			h.pod("b", "n1", corev1.PodFailed, "")
		}, podgc.Options{TerminatedPodThreshold: 2}, "a,b", ""},
		{"a negative threshold disables the trimming", func(h *harness) {
			h.node("n1", corev1.ConditionTrue)
			h.pod("a", "n1", corev1.PodSucceeded, "")
			h.pod("b", "n1", corev1.PodFailed, "")
		}, podgc.Options{TerminatedPodThreshold: -1}, "a,b", ""},
		{"terminating pods on a NotReady out-of-service node are force deleted", func(h *harness) {
			h.node("down", corev1.ConditionFalse, outOfService)
			h.node("ready", corev1.ConditionTrue, outOfService)
			h.node("notready", corev1.ConditionUnknown)
			for _, n := range []string{"down", "ready", "notready"} {
				h.pod("t-"+n, n, corev1.PodRunning, "")
				h.pod("r-"+n, n, corev1.PodRunning, "")
				if _, err := h.admin.Delete("pods", "default", "t-"+n, apiserver.DeleteOptions{}); err != nil {
					h.t.Fatal(err)
				}
			}
		}, podgc.Options{}, "r-down,r-notready,r-ready,t-notready,t-ready", ""},
		{"unscheduled terminating pods are marked Failed and force deleted", func(h *harness) {
			h.pod("held", "", corev1.PodPending, "", "example.com/hold")
			h.pod("waiting", "", corev1.PodPending, "")
			if _, err := h.admin.Delete("pods", "default", "held", apiserver.DeleteOptions{}); err != nil {
				h.t.Fatal(err)
			}
		}, podgc.Options{}, "held,waiting", "held"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.prepare(h)
			h.l.RunFor(time.Second)
			h.start(tc.opts)
			h.l.RunFor(time.Second)
			left := h.pods()
			if got := names(left); got != tc.remain {
				t.Fatalf("pods left %q, want %q", got, tc.remain)
			}
			for _, n := range strings.Split(tc.failed, ",") {
				if n == "" {
					continue
				}
				if p := left[n]; p.Status.Phase != corev1.PodFailed {
					t.Errorf("pod %s is %s, want Failed", n, p.Status.Phase)
				}
			}
		})
	}
}

// TestOrphanedPodsOfDeletedNode removes a node from a running cluster: PodGC quarantines it
// at its next run and, 40 s later, marks its pods Failed with the DisruptionTarget
// condition and deletes them.
func TestOrphanedPodsOfDeletedNode(t *testing.T) {
	c := simtest.NewWithConfig(t, sim.Config{Seed: 1, DisabledControllers: []string{sim.ControllerPodGC},
		Nodes: []*corev1.Node{simtest.Node("n1", "8", "16Gi"), simtest.Node("n2", "8", "16Gi")}})
	cm := c.API.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	nodes := informer.New(cm, "nodes", "", apiserver.Filter{})
	for _, inf := range []*informer.Informer{pods, nodes} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// The collector runs at 0 s, 20 s, 40 s, ...
	podgc.New(c.Loop, c.Log, cm, pods, nodes, podgc.Options{}).Start()

	for _, n := range []string{"a", "b"} {
		p := simtest.Pod(n, "100m", "64Mi")
		p.Spec.NodeName = "n2"
		c.Apply(p)
	}
	keep := simtest.Pod("keep", "100m", "64Mi")
	keep.Spec.NodeName = "n1"
	c.Apply(keep)

	last := map[string]*corev1.Pod{}
	gone := map[string]time.Duration{}
	if _, err := c.Admin.Watch("pods", "default", apiserver.Filter{}, 0, func(ev apiserver.WatchEvent) {
		p := ev.Object.(*corev1.Pod)
		if ev.Type == watch.Deleted {
			gone[p.Name] = c.Loop.Elapsed()
			return
		}
		last[p.Name] = p
	}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(25 * time.Second)
	if err := c.RemoveNode("n2"); err != nil {
		t.Fatal(err)
	}
	// Seen missing at the 40 s run, quarantined until 80 s.
	c.RunFor(80*time.Second - c.Loop.Elapsed() - time.Millisecond)
	if len(gone) != 0 {
		t.Fatalf("pods deleted during the quarantine: %v", gone)
	}
	c.RunFor(time.Second)
	want := 80*time.Second + 5*time.Millisecond // the delete, seen by the watch
	for _, n := range []string{"a", "b"} {
		if gone[n] != want {
			t.Errorf("pod %s removed at %v, want %v", n, gone[n], want)
		}
		p := last[n]
		var cond *corev1.PodCondition
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.DisruptionTarget {
				cond = &p.Status.Conditions[i]
			}
		}
		if p.Status.Phase != corev1.PodFailed || cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != podgc.ReasonDeletionByPodGC ||
			cond.Message != "PodGC: node no longer exists" || !cond.LastTransitionTime.Time.Equal(loop.Epoch.Add(80*time.Second)) {
			t.Errorf("pod %s before deletion: %s %+v", n, p.Status.Phase, cond)
		}
	}
	if _, ok := gone["keep"]; ok || c.Pod("keep") == nil {
		t.Errorf("the pod on the remaining node must stay")
	}
	if got := c.CountActions("OrphanedPodGC"); got != 2 {
		t.Errorf("%d OrphanedPodGC actions, want 2", got)
	}
}
