package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/reports"
)

func runJSON(t *testing.T, args ...string) *reports.Result {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := execute(append([]string{"run", "-o", "json"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("orrery run %v: exit %d: %s", args, code, errOut.String())
	}
	var res reports.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return &res
}

// TestDeterminism: the same seed gives the same event log, whatever GOMAXPROCS is; another
// seed gives another log.
func TestDeterminism(t *testing.T) {
	a := runJSON(t, "--seed", "5")
	b := runJSON(t, "--seed", "5")
	prev := runtime.GOMAXPROCS(1)
	c := runJSON(t, "--seed", "5")
	runtime.GOMAXPROCS(prev)
	if a.EventLog.SHA256 != b.EventLog.SHA256 || a.EventLog.SHA256 != c.EventLog.SHA256 {
		t.Fatalf("seed 5 gave %s, %s and (GOMAXPROCS=1) %s", a.EventLog.SHA256, b.EventLog.SHA256, c.EventLog.SHA256)
	}
	if d := runJSON(t, "--seed", "6"); d.EventLog.SHA256 == a.EventLog.SHA256 {
		t.Fatal("seeds 5 and 6 gave the same event log: the seed reaches nothing")
	}
}

func at(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDefaultStory checks the default scenario's story against Kubernetes' timings: the
// crash at 2m, NotReady 50 s (+ one 5 s monitor period at most) after the last heartbeat,
// eviction 300 s after the NoExecute taint, and 3 replicas available at the end.
func TestDefaultStory(t *testing.T) {
	res := runJSON(t)
	first := func(reason string) reports.TimelineEntry {
		for _, e := range res.Timeline {
			if e.Reason == reason {
				return e
			}
		}
		t.Fatalf("no %s in the timeline: %+v", reason, res.Timeline)
		return reports.TimelineEntry{}
	}
	started := 0
	for _, e := range res.Timeline {
		if e.Reason == "Started" && at(t, e.At) < time.Minute {
			started++
		}
	}
	if started != 3 {
		t.Errorf("%d pods started in the first minute, want 3", started)
	}
	crash, notReady, taint, evict := first("NodeCrash"), first("NodeNotReady"), first("NodeTainted"), first("TaintManagerEviction")
	if crash.Object != "node/node-2" || at(t, crash.At) != 2*time.Minute {
		t.Errorf("crash: %+v", crash)
	}
	// The last renewal is at most 10 s before the crash; the controller stamps it on its next
	// 5 s pass and marks the node on the first pass past that stamp + 50 s.
	if d := at(t, notReady.At) - at(t, crash.At); d < 40*time.Second || d > 60*time.Second {
		t.Errorf("NotReady %v after the crash; want within the 50 s grace (+ up to two 5 s passes) of the last lease renewal", d)
	}
	if d := at(t, evict.At) - at(t, taint.At); d < 300*time.Second || d > 300*time.Second+50*time.Millisecond {
		t.Errorf("eviction %v after the NoExecute taint, want 300 s", d)
	}
	replacement := false
	for _, e := range res.Timeline {
		if e.Reason == "Started" && at(t, e.At) > at(t, evict.At) && !strings.Contains(e.Message, "node-2") {
			replacement = true
		}
	}
	if !replacement {
		t.Error("no replacement pod started after the eviction")
	}
	if len(res.Deployments) != 1 || res.Deployments[0].Available != 3 || res.Deployments[0].Ready != 3 {
		t.Errorf("deployments at the end: %+v", res.Deployments)
	}
}

func TestEventsAndResultsFiles(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	res := runJSON(t, "--until", "1m", "--events", events, "--out", dir)
	data, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(data), "\n")
	if uint64(lines) != res.EventLog.Entries {
		t.Fatalf("events file has %d lines, result says %d entries", lines, res.EventLog.Entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "results.json")); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	badScenario := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badScenario, []byte("apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes:\n    - {name: n1, capacity: {cpu: lots, memory: 1Gi}}\n"), 0o644)
	badManifest := filepath.Join(dir, "bad-manifest.yaml")
	os.WriteFile(badManifest, []byte("apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: x}\n"), 0o644)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "--until", "1s"}, 0, ""},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"run", "--seed", "x"}, 2, "invalid argument"},
		{[]string{"run", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml"},
		{[]string{"run", badScenario}, 2, "spec.cluster.nodes[0].capacity.cpu"},
		{[]string{"validate", badScenario}, 2, "line 8"},
		{[]string{"validate", badManifest}, 2, `no matches for kind "Deploymnt"`},
		{[]string{"scenarios"}, 0, ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		got := execute(tt.args, &out, &errOut)
		if got != tt.code || !strings.Contains(errOut.String(), tt.msg) {
			t.Errorf("orrery %v: exit %d, stderr %q; want exit %d mentioning %q", tt.args, got, errOut.String(), tt.code, tt.msg)
		}
	}
}

// TestMostAllocatedPacksTighter: on the binpack scenario (30 one-CPU pods, 12 eight-CPU
// nodes) the default profile spreads the pods over every node, and the MostAllocated
// configuration packs them onto the 4 nodes that can hold them.
func TestMostAllocatedPacksTighter(t *testing.T) {
	spread := runJSON(t, "binpack")
	packed := runJSON(t, "binpack", "--scheduler-config", filepath.Join("..", "..", "scenarios", "builtin", "binpack", "mostallocated.yaml"))
	if spread.NodesInUse != 12 || packed.NodesInUse != 4 {
		t.Fatalf("nodes in use: default %d, MostAllocated %d; want 12 and 4", spread.NodesInUse, packed.NodesInUse)
	}
	if spread.Seed != packed.Seed {
		t.Fatal("the comparison must use the same seed")
	}
}

func TestSchedulerConfigErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins:\n    score:\n      enabled:\n      - {name: Fastest}\n"), 0o644)
	var out, errOut bytes.Buffer
	code := execute([]string{"run", "binpack", "--scheduler-config", bad}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), `profiles[0].plugins.score.enabled[0].name`) || !strings.Contains(errOut.String(), "line 8") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

// TestBadScenarios: each kind of mistake in a scenario gives one clear error naming the
// file, the line and the field path, and exit code 2, from both validate and run.
func TestBadScenarios(t *testing.T) {
	dir := t.TempDir()
	head := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 10m\n  cluster:\n    nodePools:\n    - {name: node, count: 2, zones: [a, b], capacity: {cpu: '4', memory: 8Gi}}\n"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"unknown field", head + "  assertion: []\n", []string{"bad.yaml", "line 9", `spec.assertion: unknown field "spec.assertion"`}},
		{"missing file", head + "  manifests: [web.yaml]\n", []string{"bad.yaml", "line 9", "spec.manifests[0]", `cannot read "web.yaml"`}},
		{"duration typo", head + "  timeline:\n  - at: 2mins\n    fault: {kind: NodeCrash, node: node-1}\n", []string{"bad.yaml", "line 10", `"2mins"`}},
		{"fault on a missing node", head + "  timeline:\n  - at: 2m\n    fault: {kind: NodeCrash, node: node-7}\n", []string{"bad.yaml", "line 11", "spec.timeline[0].fault.node", `Not found: "node-7"`}},
		{"zone outage of a missing zone", head + "  timeline:\n  - at: 2m\n    fault: {kind: ZoneOutage, zone: c, for: 5m}\n", []string{"spec.timeline[0].fault.zone", `Not found: "c"`}},
		{"assertion that does not parse", head + "  assertions:\n  - {name: up, expect: 'deployment default/web availble >= 3'}\n", []string{"bad.yaml", "line 10", "spec.assertions[0].expect", `unknown metric "availble"`}},
		{"random faults without mttr", head + "  randomFaults: {mtbf: {exponential: 1h}}\n", []string{"spec.randomFaults.mttr", "Required value"}},
		{"cluster CIDR that is not one", strings.Replace(head, "  cluster:\n", "  cluster:\n    clusterCIDR: 10.0.0.0/33\n", 1), []string{"bad.yaml", "line 7", "spec.cluster.clusterCIDR", `"10.0.0.0/33"`}},
		{"cluster CIDR smaller than a node block", strings.Replace(head, "  cluster:\n", "  cluster:\n    clusterCIDR: 10.0.0.0/26\n", 1), []string{"spec.cluster.clusterCIDR", "at least one /24 node block"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(f, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"validate", "run"} {
				var out, errOut bytes.Buffer
				code := execute([]string{cmd, f}, &out, &errOut)
				if code != 2 {
					t.Errorf("orrery %s: exit %d, want 2; stderr %q", cmd, code, errOut.String())
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut.String(), w) {
						t.Errorf("orrery %s: stderr %q lacks %q", cmd, errOut.String(), w)
					}
				}
				if n := strings.Count(errOut.String(), "error:"); n != 1 {
					t.Errorf("orrery %s: %d errors, want one: %q", cmd, n, errOut.String())
				}
			}
		})
	}
}

// TestFailedAssertionExitsOne: a run whose assertion fails exits 1 and says which failed,
// when, and what was seen; the same run with a passing assertion exits 0.
func TestFailedAssertionExitsOne(t *testing.T) {
	dir := t.TempDir()
	web := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: web, image: nginx, resources: {requests: {cpu: 100m, memory: 64Mi}}}\n"
	os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(web), 0o644)
	scenario := func(expect string) string {
		return "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 2m\n  cluster:\n    nodes:\n    - {name: n1, capacity: {cpu: '4', memory: 8Gi}}\n  manifests: [web.yaml]\n  assertions:\n  - {name: ready, expect: '" + expect + "', within: 1m}\n"
	}
	f := filepath.Join(dir, "s.yaml")
	os.WriteFile(f, []byte(scenario("deployment default/web available >= 2")), 0o644)
	var out, errOut bytes.Buffer
	if code := execute([]string{"run", f}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "PASS") {
		t.Fatalf("passing assertion: exit %d, stdout %s, stderr %s", code, out.String(), errOut.String())
	}
	os.WriteFile(f, []byte(scenario("deployment default/web available >= 3")), 0o644)
	out.Reset()
	errOut.Reset()
	code := execute([]string{"run", f}, &out, &errOut)
	want := `assertion "ready" (deployment default/web available >= 3, within 1m0s) failed at 1m0s: deployment default/web available was still 2 at 1m0s`
	if code != 1 || !strings.Contains(errOut.String(), want) || !strings.Contains(out.String(), "FAIL") {
		t.Fatalf("failing assertion: exit %d, stderr %q; want exit 1 and %q", code, errOut.String(), want)
	}
}
