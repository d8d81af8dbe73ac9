package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// podWrites records the admin's successful pod creates and deletes of a run, by pod name.
type podWrites struct {
	created, deleted map[string]time.Duration
	actions          []string
}

func recordPods(w *podWrites) func(*sim.Cluster, *eventlog.Entry) {
	w.created, w.deleted = map[string]time.Duration{}, map[string]time.Duration{}
	return func(_ *sim.Cluster, e *eventlog.Entry) {
		if e.Actor == sim.Actor {
			w.actions = append(w.actions, fmt.Sprintf("%v %s %s: %s", e.At, e.Reason, e.Name, e.Message))
		}
		if e.Actor != apiserver.AdminUser || e.Resource != "pods" || e.Code >= 300 {
			return
		}
		switch e.Verb {
		case "create":
			w.created[e.Name] = e.At
		case "delete":
			w.deleted[e.Name] = e.At
		}
	}
}

func sec(s string) time.Duration {
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		panic(err)
	}
	return d
}

// TestOpenBReplay replays rows of the published OpenB default pod list (real column
// layout) on the four nodes of its node list, 10,000 times faster: every pod is created
// at creation_time/10⁴ and deleted at deletion_time/10⁴, except openb-pod-7285, whose
// deletion equals its creation (it never departs).
func TestOpenBReplay(t *testing.T) {
	s, err := LoadFile(filepath.Join("testdata", "openb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Nodes()); n != 4 {
		t.Fatalf("%d nodes from the node list, want 4", n)
	}
	var w podWrites
	run, err := s.Run(RunOptions{Observe: recordPods(&w)})
	if err != nil {
		t.Fatal(err)
	}
	// Seconds, as in the CSV divided by 10⁴.
	want := []struct{ name, created, deleted string }{
		{"openb-pod-0000", "0", "1253.7496"},
		{"openb-pod-0001", "42.7061", "1290.296"},
		{"openb-pod-0005", "275.9674", "1290.296"},
		{"openb-pod-0009", "497.5773", "1290.296"},
		{"openb-pod-0012", "658.8193", "1095.9245"},
		{"openb-pod-0017", "943.7497", "1076.9854"},
		{"openb-pod-0021", "967.1707", "1290.296"},
		{"openb-pod-0033", "996.5463", "996.5645"},
		{"openb-pod-0061", "1000.1278", "1000.1403"},
		{"openb-pod-0129", "1003.5396", "1003.6353"},
		{"openb-pod-0422", "1019.5438", "1019.7145"},
		{"openb-pod-2182", "1079.3686", "1080.0396"},
		{"openb-pod-7285", "1277.4042", ""},
	}
	for _, p := range want {
		if got, ok := w.created[p.name]; !ok || got != sec(p.created) {
			t.Errorf("%s created at %v (%v), want %ss", p.name, got, ok, p.created)
		}
		got, ok := w.deleted[p.name]
		if p.deleted == "" {
			if ok {
				t.Errorf("%s deleted at %v, want never", p.name, got)
			}
			continue
		}
		if !ok || got != sec(p.deleted) {
			t.Errorf("%s deleted at %v (%v), want %ss", p.name, got, ok, p.deleted)
		}
	}
	if len(w.created) != 13 || len(w.deleted) != 12 {
		t.Errorf("%d creates and %d deletes, want 13 and 12", len(w.created), len(w.deleted))
	}
	wantActions := []string{
		"0s TraceLoaded spec.workloads[0]: openb trace openb_node_list.csv, openb_pod_list.csv: 13 pods (12 depart) arriving from 0s to 21m17.4042s; created PriorityClass openb-ls (value 0)",
		"21m30.296s WorkloadFinished spec.workloads[0]: created 13 pods, 0 failed; deleted 12 at departure, 0 already gone",
	}
	if got := strings.Join(w.actions, "\n"); got != strings.Join(wantActions, "\n") {
		t.Errorf("actions\n%s\nwant\n%s", got, strings.Join(wantActions, "\n"))
	}
	// At the end only openb-pod-7285 is left, bound (by GPUShare, to a node with a GPU
	// share free) and running; the LS pods had their
	// class, which the run created.
	res, err := run.Cluster.Admin.List("pods", "default", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range res.Items {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp == nil {
			left = append(left, p.Name+"@"+p.Spec.NodeName+":"+string(p.Status.Phase))
		}
	}
	if got := strings.Join(left, " "); got != "openb-pod-7285@openb-node-0243:Running" {
		t.Errorf("pods left %s", got)
	}
	obj, err := run.Cluster.Admin.Get("priorityclasses", "", "openb-ls")
	if err != nil || obj.(*schedulingv1.PriorityClass).Value != 0 {
		t.Errorf("PriorityClass openb-ls: %v %v", obj, err)
	}
}

// TestSnapshotReplay starts from the hand-written `kubectl get ... -A -o yaml` of a
// 3-node EKS cluster: its nodes register Ready with their cordon and taint, its DaemonSet
// runs a pod on each, its bare pods run, and of the Deployment's two replicas one runs
// and one waits — the snapshot's second replica ran on a node that has since been
// tainted, and zone spreading (maxSkew 1) forbids a second one in eu-west-1a.
func TestSnapshotReplay(t *testing.T) {
	s, err := LoadFile(filepath.Join("testdata", "snapshot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantWarnings := []string{
		"testdata/cluster.yaml:953: Pod shop/cache-0: kept without its owner: StatefulSet cache is not in the snapshot or not simulated by Orrery, so nothing recreates it",
		"testdata/cluster.yaml:1623: StatefulSet shop/cache: skipped: Orrery does not simulate apps/v1 StatefulSet",
		"testdata/cluster.yaml:2054: Job shop/db-migrate: skipped: the Job has finished (Complete); replaying it would run it again",
	}
	if got := strings.Join(s.Warnings(), "\n"); got != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings\n%s\nwant\n%s", got, strings.Join(wantWarnings, "\n"))
	}
	var w podWrites
	var unschedulable []string
	observe := recordPods(&w)
	run, err := s.Run(RunOptions{Observe: func(c *sim.Cluster, e *eventlog.Entry) {
		observe(c, e)
		if e.Reason == "FailedScheduling" {
			unschedulable = append(unschedulable, e.Message)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0s SnapshotLoaded spec.cluster.snapshot: cluster.yaml: 3 nodes, 13 objects applied; 11 items dropped (recreated by the cluster), 3 warnings"; len(w.actions) != 1 || w.actions[0] != want {
		t.Errorf("actions %q, want %q", w.actions, want)
	}
	nodes, err := run.Cluster.Admin.List("nodes", "", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range nodes.Items {
		n := o.(*corev1.Node)
		ready := ""
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = string(c.Status) + "/" + c.Reason
			}
		}
		var taints []string
		for _, tn := range n.Spec.Taints {
			taints = append(taints, tn.Key)
		}
		got = append(got, fmt.Sprintf("%s zone=%s ready=%s unschedulable=%v taints=%v cpu=%s", n.Name, n.Labels[corev1.LabelTopologyZone], ready, n.Spec.Unschedulable, taints, n.Status.Allocatable.Cpu()))
	}
	wantNodes := []string{
		"ip-10-0-1-17.eu-west-1.compute.internal zone=eu-west-1a ready=True/KubeletReady unschedulable=false taints=[] cpu=3920m",
		"ip-10-0-1-42.eu-west-1.compute.internal zone=eu-west-1a ready=True/KubeletReady unschedulable=true taints=[node.kubernetes.io/unschedulable] cpu=3920m",
		"ip-10-0-2-8.eu-west-1.compute.internal zone=eu-west-1b ready=True/KubeletReady unschedulable=false taints=[dedicated] cpu=3920m",
	}
	if strings.Join(got, "\n") != strings.Join(wantNodes, "\n") {
		t.Errorf("nodes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantNodes, "\n"))
	}
	pods, err := run.Cluster.Admin.List("pods", "", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range pods.Items {
		p := o.(*corev1.Pod)
		owner := p.Name
		if len(p.OwnerReferences) > 0 {
			owner = p.OwnerReferences[0].Kind
		}
		count[p.Namespace+"/"+owner+":"+string(p.Status.Phase)]++
	}
	wantPods := map[string]int{
		"default/debug:Running": 1, "shop/cache-0:Running": 1,
		"kube-system/DaemonSet:Running": 3,
		"shop/ReplicaSet:Running":       1, "shop/ReplicaSet:Pending": 1,
	}
	if fmt.Sprint(count) != fmt.Sprint(wantPods) {
		t.Errorf("pods %v, want %v", count, wantPods)
	}
	if len(unschedulable) == 0 || !strings.Contains(unschedulable[0], "1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {dedicated: batch}, 1 node(s) were unschedulable") {
		t.Errorf("FailedScheduling %q", unschedulable)
	}
}

const generatorScenario = `apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: gen}
spec:
  duration: 1m
  cluster:
    nodes: [{name: a, capacity: {cpu: "8", memory: 16Gi}}]
  workloads:
  - start: 10s
    generator:
      arrivals: {poisson: {rate: 0.5}}
      until: 30s
      cpu: {fixed: 100}
      memory: {logNormal: {mean: 256, std: 64}}
      lifetime: {exponential: {mean: 10}}
      priorities: [{class: batch, weight: 1}]
      namespace: synth
`

// TestGeneratorSeeds: a generator is drawn at run time from the run's seed (stream
// workloads/0), so --seed changes it: seed 1 gives 14 pods from 12.08s, seed 2 gives 18
// from 13.51s; each pod is created at the workload's start plus its arrival time and
// deleted after its lifetime, exactly as synth generates them.
func TestGeneratorSeeds(t *testing.T) {
	s, err := Parse("gen.yaml", []byte(generatorScenario))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		seed  uint64
		pods  int
		first string
	}{{1, 14, "12.08070681s"}, {2, 18, "13.507222256s"}} {
		var w podWrites
		run, err := s.Run(RunOptions{Seed: &tt.seed, Observe: recordPods(&w)})
		if err != nil {
			t.Fatal(err)
		}
		first := time.Duration(1 << 62)
		for _, at := range w.created {
			first = min(first, at)
		}
		if len(w.created) != tt.pods || first.String() != tt.first {
			t.Errorf("seed %d: %d pods from %v, want %d from %s", tt.seed, len(w.created), first, tt.pods, tt.first)
		}
		// The same draws, made outside the run.
		g := s.Spec.Workloads[0].gen
		arrivals, err := g.Generate(loop.New(tt.seed).Rand("workloads/0"))
		if err != nil {
			t.Fatal(err)
		}
		if len(arrivals) != tt.pods {
			t.Fatalf("seed %d: synth draws %d pods", tt.seed, len(arrivals))
		}
		for _, a := range arrivals {
			if got := w.created[a.Pod.Name]; got != 10*time.Second+a.At {
				t.Errorf("seed %d: %s created at %v, want %v", tt.seed, a.Pod.Name, got, 10*time.Second+a.At)
			}
			if dep := 10*time.Second + a.At + a.Lifetime; dep < time.Minute && w.deleted[a.Pod.Name] != dep {
				t.Errorf("seed %d: %s deleted at %v, want %v", tt.seed, a.Pod.Name, w.deleted[a.Pod.Name], dep)
			}
		}
		pods, err := run.Cluster.Admin.List("pods", "synth", apiserver.Filter{}, false)
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("seed %d: pods in synth %v, %v", tt.seed, pods, err)
		}
		for _, o := range pods.Items {
			if p := o.(*corev1.Pod); p.Spec.PriorityClassName != "batch" || p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() != 100 {
				t.Errorf("seed %d: %s has class %q and requests %v", tt.seed, p.Name, p.Spec.PriorityClassName, p.Spec.Containers[0].Resources.Requests)
			}
		}
	}
}

// TestTraceFormats loads the other formats side by side: the v2018 machines join the
// cluster, and the OpenB protocol fills 130% of the cluster's 2 GPUs with 4 draws, 2 s
// apart, that never depart.
func TestTraceFormats(t *testing.T) {
	s, err := LoadFile(filepath.Join("testdata", "formats.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range s.Nodes() {
		names = append(names, n.Name+"="+n.Status.Capacity.Memory().String())
	}
	if got := strings.Join(names, " "); got != "gpu-1=64Gi m-1=64Gi m-2=64Gi m-3=32Gi" {
		t.Errorf("nodes %s", got)
	}
	var w podWrites
	if _, err := s.Run(RunOptions{Observe: recordPods(&w)}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0s TraceLoaded spec.workloads[0]: alibaba-v2018 trace v2018/machine_meta.csv, v2018/batch_task.csv, v2018/batch_instance.csv, v2018/container_meta.csv: 7 pods (4 depart) arriving from 0s to 187h9m55s; created namespace alibaba",
		"0s TraceLoaded spec.workloads[1]: generic trace generic.csv: 4 pods (3 depart) arriving from 5s to 1m5s; created namespace generic, PriorityClass high (value 0), PriorityClass low (value 0)",
		"0s TraceLoaded spec.workloads[2]: openb trace openb_pod_list.csv (protocol, target 1.3): 4 pods (0 depart) arriving from 0s to 6s; created namespace openb",
		"6s WorkloadFinished spec.workloads[2]: created 4 pods, 0 failed; deleted 0 at departure, 0 already gone",
	}
	if got := strings.Join(w.actions, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("actions\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if at, ok := w.created["web-1"]; !ok || at != 5*time.Second {
		t.Errorf("generic web-1 created at %v (%v), want 5s (its arrival 0s after start 5s)", at, ok)
	}
}

// TestWorkloadErrors: each bad workload gives one error naming the file, line and field.
func TestWorkloadErrors(t *testing.T) {
	head := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n"
	snapHead := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n"
	tests := []struct {
		name, body string
		files      map[string]string
		want       string
	}{
		{"missing trace file", head + "  workloads:\n  - trace:\n      format: openb\n      pods: nope.csv\n", nil,
			`s.yaml: document 1, line 11: spec.workloads[0].trace.pods: cannot read "nope.csv": no such file or directory`},
		{"unknown format", head + "  workloads:\n  - trace: {format: borg, pods: p.csv}\n", nil,
			`s.yaml: document 1 (Scenario "x"), line 9: spec.workloads[0].trace.format: Unsupported value: "borg": supported values: ["openb" "alibaba-v2018" "generic"]`},
		{"bad generator rate", head + "  workloads:\n  - generator:\n      arrivals: {poisson: {rate: -1}}\n      count: 10\n      cpu: {fixed: 100}\n      memory: {fixed: 100}\n", nil,
			`s.yaml: document 1 (Scenario "x"), line 10: spec.workloads[0].generator.arrivals.poisson.rate: Invalid value: -1: Poisson rate -1: want a positive finite number`},
		{"bad distribution", head + "  workloads:\n  - generator:\n      arrivals: {poisson: {rate: 1}}\n      count: 10\n      cpu: {fixed: 100}\n      memory: {logNormal: {mu: 1}}\n", nil,
			`s.yaml: document 1 (Scenario "x"), line 13: spec.workloads[0].generator.memory.logNormal: Invalid value: want mu and sigma, or mean and std`},
		{"no count", head + "  workloads:\n  - generator:\n      arrivals: {poisson: {rate: 1}}\n      shapes: [{weight: 1, cpu: '1'}]\n", nil,
			`line 9: spec.workloads[0].generator.count: Required value: a count, an until time, or both`},
		{"unknown generator field", head + "  workloads:\n  - generator:\n      arrivals: {poisson: {rate: 1}}\n      cnt: 10\n", nil,
			`line 11: spec.workloads[0].generator.cnt: unknown field "spec.workloads[0].generator.cnt"`},
		{"trace and generator", head + "  workloads:\n  - trace: {format: generic, pods: p.csv}\n    generator: {count: 1}\n", nil,
			`line 9: spec.workloads[0]: Invalid value: a workload needs exactly one of trace or generator`},
		{"field of another format", head + "  workloads:\n  - trace: {format: generic, pods: p.csv, machineMeta: m.csv}\n", nil,
			`line 9: spec.workloads[0].trace.machineMeta: Forbidden: only for format alibaba-v2018, not generic`},
		{"bad row", head + "  workloads:\n  - trace: {format: openb, pods: p.csv}\n", map[string]string{"p.csv": "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np-1,1.5k,1,0,0\n"},
			`p.csv: line 2: cpu_milli: column 5: expected an integer, got "1.5k"`},
		{"duplicate node", head + "  workloads:\n  - trace: {format: openb, nodes: n.csv, pods: p.csv}\n", map[string]string{"n.csv": "sn,cpu_milli,memory_mib,gpu\na,1000,1024,0\n", "p.csv": "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np-1,1,1,0,0\n"},
			`line 9: spec.workloads[0].trace: Duplicate value: node "a" is listed 2 times`},
		{"protocol without GPUs", head + "  workloads:\n  - trace: {format: openb, pods: p.csv, protocol: {target: 1.3}}\n", map[string]string{"p.csv": "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np-1,1,1,1,1000\n"},
			`spec.workloads[0].trace.protocol: Invalid value: the protocol fills the cluster's GPUs, and its nodes have none`},
		{"missing snapshot", snapHead + "    snapshot: cluster.yaml\n", nil,
			`s.yaml: document 1, line 7: spec.cluster.snapshot: cannot read "cluster.yaml": no such file or directory`},
		{"snapshot without nodes", snapHead + "    snapshot: c.yaml\n", map[string]string{"c.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: x\n"},
			`spec.cluster: Required value: at least one node: the snapshot and traces have none`},
		{"bad snapshot item", snapHead + "    snapshot: c.yaml\n", map[string]string{"c.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n  spec: {finalizers: 3}\n"},
			`c.yaml: document 1, item 1 (Namespace "x"), line 7: spec.finalizers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"s.yaml": tt.body}
			for k, v := range tt.files {
				files[k] = v
			}
			for name, body := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadFile(filepath.Join(dir, "s.yaml"))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error\n%s\nwant it to contain\n%s", msg, tt.want)
			}
			if n := strings.Count(msg, "\n") + 1; n != 1 && !strings.Contains(msg, "unmarshal errors:\n") {
				t.Errorf("%d errors, want 1:\n%s", n, msg)
			}
		})
	}
}
