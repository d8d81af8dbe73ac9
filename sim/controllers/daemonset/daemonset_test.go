package daemonset_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/daemonset"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestOnePodPerEligibleNode runs a DaemonSet on three or four nodes and checks which nodes
// get a pod, the status counts and that no pod was created twice.
func TestOnePodPerEligibleNode(t *testing.T) {
	node := simtest.Node
	for _, tt := range []struct {
		name  string
		nodes []*corev1.Node
		edit  func(*appsv1.DaemonSet)
		want  []string // nodes running a pod
	}{
		{name: "every node", nodes: []*corev1.Node{node("n1", "4", "8Gi"), node("n2", "4", "8Gi"), node("n3", "4", "8Gi")}, want: []string{"n1", "n2", "n3"}},
		{
			name:  "nodeSelector",
			nodes: []*corev1.Node{withLabels(node("n1", "4", "8Gi"), "disk", "ssd"), node("n2", "4", "8Gi"), withLabels(node("n3", "4", "8Gi"), "disk", "ssd")},
			edit:  func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} },
			want:  []string{"n1", "n3"},
		},
		{
			name:  "required node affinity",
			nodes: []*corev1.Node{withLabels(node("n1", "4", "8Gi"), "zone", "a"), withLabels(node("n2", "4", "8Gi"), "zone", "b"), withLabels(node("n3", "4", "8Gi"), "zone", "c")},
			edit: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "c"}}}}},
				}}}
			},
			want: []string{"n1", "n3"},
		},
		{
			name: "untolerated taints",
			nodes: []*corev1.Node{
				withTaints(node("n1", "4", "8Gi"), taint("dedicated", corev1.TaintEffectNoSchedule)),
				withTaints(node("n2", "4", "8Gi"), taint("dedicated", corev1.TaintEffectNoExecute)),
				withTaints(node("n3", "4", "8Gi"), taint("dedicated", corev1.TaintEffectPreferNoSchedule)),
				node("n4", "4", "8Gi"),
			},
			want: []string{"n3", "n4"},
		},
		{
			name: "tolerated taint",
			nodes: []*corev1.Node{
				withTaints(node("n1", "4", "8Gi"), taint("dedicated", corev1.TaintEffectNoSchedule)),
				withTaints(node("n2", "4", "8Gi"), taint("other", corev1.TaintEffectNoSchedule)),
			},
			edit: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
			},
			want: []string{"n1"},
		},
		{
			name: "default tolerations: cordoned and under pressure",
			nodes: []*corev1.Node{
				withTaints(node("n1", "4", "8Gi"), corev1.Taint{Key: daemonset.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}),
				withTaints(node("n2", "4", "8Gi"), corev1.Taint{Key: daemonset.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}),
				withTaints(node("n3", "4", "8Gi"), corev1.Taint{Key: daemonset.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}),
			},
			want: []string{"n1", "n2"}, // network-unavailable is tolerated by host-network pods only
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The node lifecycle controller is off: the cases put on nodes the taints it
			// would derive from pressure conditions and cordons, which the simulated
			// kubelets do not report, so it would take them off again.
			c := clusterWith(t, sim.Config{Seed: 1, Nodes: tt.nodes, DisabledControllers: []string{sim.ControllerNodeLifecycle}})
			ds := daemonSet("nginx:1.26")
			if tt.edit != nil {
				tt.edit(ds)
			}
			c.Apply(ds)
			c.RunFor(time.Minute)
			if got := liveNodes(c); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("pods on %v, want %v", got, tt.want)
			}
			if n := c.CountActions(daemonset.ReasonSuccessfulCreate); n != len(tt.want) {
				t.Errorf("%d creates, want exactly %d", n, len(tt.want))
			}
			n := int32(len(tt.want))
			want := appsv1.DaemonSetStatus{DesiredNumberScheduled: n, CurrentNumberScheduled: n, NumberReady: n, NumberAvailable: n, UpdatedNumberScheduled: n, ObservedGeneration: 1}
			if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
				t.Errorf("status %+v, want %+v", st, want)
			}
		})
	}
}

// TestPodShape checks what a daemon pod carries: the controller reference, the labels,
// the node-name affinity that replaces the template's required terms, the default
// tolerations, and the ControllerRevision its hash names.
func TestPodShape(t *testing.T) {
	c := cluster(t, withLabels(simtest.Node("n1", "4", "8Gi"), "zone", "a"))
	ds := daemonSet("nginx:1.26")
	ds.Spec.Template.Spec.HostNetwork = true
	ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
	}}}
	// A user toleration matching a default one is replaced by the default.
	sixty := int64(60)
	ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: daemonset.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &sixty}}
	c.Apply(ds)
	c.RunFor(30 * time.Second)
	pods := live(c)
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	p := pods[0]
	cur := getDS(c)
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Kind != "DaemonSet" || ref.APIVersion != "apps/v1" || ref.Name != "agent" || ref.UID != cur.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("controller reference %+v", p.OwnerReferences)
	}
	if !strings.HasPrefix(p.Name, "agent-") || len(p.Name) != len("agent-")+5 {
		t.Errorf("pod name %q, want agent-<5 characters>", p.Name)
	}
	hash := daemonset.ComputeHash(&cur.Spec.Template, nil)
	if p.Labels["controller-revision-hash"] != hash || p.Labels["pod-template-generation"] != "1" || p.Labels["app"] != "agent" {
		t.Errorf("labels %v, want hash %s and generation 1", p.Labels, hash)
	}
	wantAffinity := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}
	if got := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; !reflect.DeepEqual(got, wantAffinity) {
		t.Errorf("required node affinity %+v, want %+v", got, wantAffinity)
	}
	if want := daemonset.DefaultTolerations(true); !reflect.DeepEqual(p.Spec.Tolerations, []corev1.Toleration{want[1], want[0], want[2], want[3], want[4], want[5], want[6]}) {
		t.Errorf("tolerations %+v", p.Spec.Tolerations)
	}
	obj, err := c.Admin.Get("controllerrevisions", "default", "agent-"+hash)
	if err != nil {
		t.Fatalf("revision agent-%s: %v", hash, err)
	}
	cr := obj.(*appsv1.ControllerRevision)
	if cr.Revision != 1 || cr.Labels["controller-revision-hash"] != hash || metav1.GetControllerOf(cr).UID != cur.UID {
		t.Errorf("revision %+v", cr.ObjectMeta)
	}
	if !strings.HasPrefix(string(cr.Data.Raw), `{"spec":{"template":{"$patch":"replace","metadata":`) {
		t.Errorf("revision data %s", cr.Data.Raw)
	}
	evs := c.Events(daemonset.ReasonSuccessfulCreate)
	if len(evs) != 1 || evs[0].Message != "Created pod: "+p.Name || evs[0].Source.Component != "daemonset-controller" || evs[0].InvolvedObject.Kind != "DaemonSet" {
		t.Errorf("events %+v", evs)
	}
}

// TestNodesJoinAndLeave: a joining node gets a pod; a deleted node's pod is not replaced
// and no longer counted (upstream leaves it to the pod garbage collector); a node whose
// labels stop matching loses its pod.
func TestNodesJoinAndLeave(t *testing.T) {
	node := func(name string) *corev1.Node { return withLabels(simtest.Node(name, "4", "8Gi"), "agent", "yes") }
	c := cluster(t, node("n1"), node("n2"), node("n3"))
	ds := daemonSet("nginx:1.26")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"agent": "yes"}
	c.Apply(ds)
	c.RunFor(time.Minute)
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2", "n3"}) {
		t.Fatalf("pods on %v", got)
	}

	joined := c.Loop.Elapsed()
	if err := c.AddNode(node("n4")); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2", "n3", "n4"}) {
		t.Fatalf("after n4 joined: pods on %v", got)
	}
	created := c.Actions[len(c.Actions)-1]
	for _, a := range c.Actions {
		if a.Reason == daemonset.ReasonSuccessfulCreate && strings.HasSuffix(a.Message, "on node n4") {
			created = a
		}
	}
	// The node object is created when the kubelet registers; the controller sees it one
	// watch latency later and creates the pod in the same instant.
	if d := created.At - joined; d != apiserver.DefaultWatchLatency {
		t.Errorf("pod for n4 created %v after the node joined, want %v", d, apiserver.DefaultWatchLatency)
	}
	if st := getDS(c).Status; st.DesiredNumberScheduled != 4 || st.CurrentNumberScheduled != 4 || st.NumberAvailable != 4 {
		t.Errorf("status after join %+v", st)
	}

	if err := c.RemoveNode("n2"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n := c.CountActions(daemonset.ReasonSuccessfulCreate); n != 4 {
		t.Errorf("%d creates after n2 left, want 4 (no replacement)", n)
	}
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 3, NumberAvailable: 3, UpdatedNumberScheduled: 3, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status after n2 left %+v, want %+v", st, want)
	}

	// n3 stops matching the nodeSelector: its pod is deleted.
	n3 := c.Node("n3").DeepCopy()
	n3.Labels["agent"] = "no"
	if _, err := c.Admin.Update(n3); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n := c.CountActions(daemonset.ReasonSuccessfulDelete); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
	for _, p := range c.Pods() {
		if p.Spec.NodeName == "n3" {
			t.Errorf("pod %s still on n3 (deleting: %v)", p.Name, p.DeletionTimestamp != nil)
		}
	}
	want = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 2, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status after n3 left the selector %+v, want %+v", st, want)
	}
}

// TestExpectations: with a slow watch (500 ms), a DaemonSet update reaches the controller
// after it created its pods but before it saw them; expectations keep it from creating
// them again.
func TestExpectations(t *testing.T) {
	c := clusterWith(t, sim.Config{Seed: 1, API: apiserver.Options{WatchLatency: 500 * time.Millisecond},
		Nodes: []*corev1.Node{simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"), simtest.Node("n3", "4", "8Gi")}})
	c.Apply(daemonSet("nginx:1.26"))
	c.RunFor(200 * time.Millisecond)
	touched := getDS(c).DeepCopy()
	touched.Annotations = map[string]string{"touched": "yes"}
	if _, err := c.Admin.Update(touched); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n := c.CountActions(daemonset.ReasonSuccessfulCreate); n != 3 {
		t.Errorf("%d creates, want exactly 3", n)
	}
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2", "n3"}) {
		t.Errorf("pods on %v", got)
	}
	if at := c.FirstAction(daemonset.ReasonSuccessfulCreate, "agent"); at != 500*time.Millisecond {
		t.Errorf("first create at %v, want 500ms (one watch latency)", at)
	}
}
