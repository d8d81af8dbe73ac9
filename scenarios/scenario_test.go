package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

func TestBuiltinScenariosLoad(t *testing.T) {
	names := Builtin()
	found := false
	for _, n := range names {
		found = found || n == Default
	}
	if !found {
		t.Fatalf("built-in scenarios %v, want %q among them", names, Default)
	}
	for _, n := range names {
		s, err := LoadBuiltin(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if (len(s.Objects) == 0 && len(s.Spec.Workloads) == 0) || len(s.Nodes()) == 0 {
			t.Fatalf("%s: %d objects, %d nodes", n, len(s.Objects), len(s.Nodes()))
		}
	}
	if _, err := LoadBuiltin("nope"); err == nil || !strings.Contains(err.Error(), "node-failure") {
		t.Fatalf("unknown built-in: %v", err)
	}
}

func TestNodePools(t *testing.T) {
	s, err := Parse("s.yaml", []byte(`apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: pools}
spec:
  duration: 1m
  cluster:
    nodes:
    - {name: solo, capacity: {cpu: "2", memory: 4Gi}}
    nodePools:
    - {name: w, count: 3, zones: [z1, z2], capacity: {cpu: "4", memory: 8Gi, nvidia.com/gpu: "1"}, labels: {pool: w}}
`))
	if err != nil {
		t.Fatal(err)
	}
	nodes := s.Nodes()
	var got []string
	for _, n := range nodes {
		got = append(got, n.Name+"@"+n.Labels[corev1.LabelTopologyZone])
	}
	if strings.Join(got, " ") != "solo@ w-1@z1 w-2@z2 w-3@z1" {
		t.Fatalf("nodes %v", got)
	}
	w1 := nodes[1]
	if q := w1.Status.Capacity[corev1.ResourceName("nvidia.com/gpu")]; q.Value() != 1 || w1.Labels["pool"] != "w" || w1.Status.Capacity.Pods().Value() != 110 {
		t.Fatalf("w-1: %v %v", w1.Status.Capacity, w1.Labels)
	}
}

func TestParseErrors(t *testing.T) {
	head := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n"
	tests := []struct {
		name, body, want string
	}{
		{"unknown field", head + "  duration: 1m\n  clustr: {}\n", `line 6: spec.clustr: unknown field "spec.clustr"`},
		{"bad duration", head + "  duration: soon\n", `invalid duration "soon"`},
		{"no duration", head + "  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n", "spec.duration: Required value"},
		{"no nodes", head + "  duration: 1m\n", "spec.cluster: Required value"},
		{"bad quantity", head + "  duration: 1m\n  cluster:\n    nodes:\n    - name: a\n      capacity: {cpu: lots, memory: 1Gi}\n", `line 9: spec.cluster.nodes[0].capacity.cpu: Invalid value: "lots"`},
		{"bad node name", head + "  duration: 1m\n  cluster:\n    nodes: [{name: A_B, capacity: {cpu: '1', memory: 1Gi}}]\n", `spec.cluster.nodes[0].name: Invalid value: "A_B"`},
		{"fault on unknown node", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, fault: {kind: NodeCrash, node: b}}\n", `spec.timeline[0].fault.node: Not found: "b"`},
		{"unknown fault", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, fault: {kind: Meteor, node: a}}\n", `Unsupported value: "Meteor"`},
		{"two actions in one event", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, removeNode: a, apply: x.yaml}\n", `spec.timeline[0]: Invalid value: an event needs exactly one of fault, apply, addNode, removeNode, cordon, uncordon, drain, rollback, delete, scale or setImage`},
		{"remove unknown node", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, removeNode: b}\n", `spec.timeline[0].removeNode: Not found: "b"`},
		{"added node twice", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, addNode: {name: a, capacity: {cpu: '1', memory: 1Gi}}}\n", `spec.timeline[0].addNode.name: Duplicate value: "a"`},
		{"added node without memory", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, addNode: {name: b, capacity: {cpu: '1'}}}\n", `spec.timeline[0].addNode.capacity.memory: Required value`},
		{"drain unknown node", head + "  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n  - {at: 1s, drain: {node: b}}\n", `spec.timeline[0].drain.node: Not found: "b"`},
		{"wrong kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", `expected apiVersion "orrery.dev/v1alpha1"`},
	}
	for _, tt := range tests {
		_, err := Parse("s.yaml", []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "s.yaml") {
			t.Errorf("%s: error %v, want it to name s.yaml and contain %q", tt.name, err, tt.want)
		}
	}
}

func TestManifestErrorsNameTheManifest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  manifests: [app.yaml, missing.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {k: v}\nbogus: 1\n"), 0o644)
	_, err := LoadFile(filepath.Join(dir, "s.yaml"))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"app.yaml: document 2", `unknown field "bogus"`, "spec.manifests[1]", `cannot read "missing.yaml"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// TestNodesJoinAndLeave: a node added on the timeline registers through its kubelet; a
// removed one's Node object is gone.
func TestNodesJoinAndLeave(t *testing.T) {
	body := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 2m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n" +
		"  timeline:\n  - {at: 30s, addNode: {name: b, capacity: {cpu: '2', memory: 2Gi}, labels: {pool: extra}}}\n  - {at: 1m, removeNode: a}\n"
	s, err := Parse("s.yaml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Cluster.Admin.List("nodes", "", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 {
		t.Fatalf("%d nodes at the end, want only b", len(res.Items))
	}
	b := res.Items[0].(*corev1.Node)
	if b.Name != "b" || b.Labels["pool"] != "extra" || b.Status.Capacity.Cpu().String() != "2" {
		t.Errorf("node %s labels %v capacity %v", b.Name, b.Labels, b.Status.Capacity)
	}
	var joined, left time.Duration = -1, -1
	for _, e := range r.Actions {
		switch e.Reason {
		case "NodeAdd":
			joined = e.At
		case "NodeRemove":
			left = e.At
		}
	}
	if joined != 30*time.Second || left != time.Minute {
		t.Errorf("joined at %v, left at %v", joined, left)
	}
}

// TestNodeShape: reservations make allocatable smaller than capacity, images are on the
// node from the start (status.images, which the kubelet takes as pulled), and zone and
// region become topology labels.
func TestNodeShape(t *testing.T) {
	s, err := Parse("s.yaml", []byte(`apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: shape}
spec:
  duration: 1m
  cluster:
    nodes:
    - name: n1
      zone: z1
      region: r1
      capacity: {cpu: "4", memory: 16Gi}
      reserved: {cpu: 250m, memory: 1Gi}
      images: [{name: "nginx:1.27", size: 70Mi}]
`))
	if err != nil {
		t.Fatal(err)
	}
	n := s.Nodes()[0]
	cpu, mem := n.Status.Allocatable[corev1.ResourceCPU], n.Status.Allocatable[corev1.ResourceMemory]
	if cpu.MilliValue() != 3750 || mem.Value() != 15<<30 || n.Labels[corev1.LabelTopologyZone] != "z1" || n.Labels[corev1.LabelTopologyRegion] != "r1" {
		t.Fatalf("allocatable %v, labels %v", n.Status.Allocatable, n.Labels)
	}
	if len(n.Status.Images) != 1 || n.Status.Images[0].SizeBytes != 70<<20 {
		t.Fatalf("images %+v", n.Status.Images)
	}
	for _, bad := range []struct{ body, want string }{
		{"      reserved: {cpu: '5'}\n", `spec.cluster.nodes[0].reserved.cpu: Invalid value: "5": more than the capacity (4)`},
		{"      reserved: {nvidia.com/gpu: '1'}\n", `spec.cluster.nodes[0].reserved.nvidia.com/gpu: Invalid value: "1": the node has no nvidia.com/gpu capacity`},
		{"      images: [{size: 1Gi}]\n", `spec.cluster.nodes[0].images[0].name: Required value`},
	} {
		_, err := Parse("s.yaml", []byte("apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes:\n    - name: n1\n      capacity: {cpu: '4', memory: 8Gi}\n"+bad.body))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want %q", err, bad.want)
		}
	}
}
