package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/orrery-sim/orrery/scenarios"
)

// TestResultsJSONRoundTrip writes the results.json of a real run, reads it back, and
// checks that every documented field is there and that nothing is lost: the result read
// back encodes to the same bytes and gives the same Metrics.
func TestResultsJSONRoundTrip(t *testing.T) {
	s, err := scenarios.LoadBuiltin("node-failure")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(scenarios.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Summarize(run)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteJSON(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("results.json read back does not encode to the same bytes")
	}
	if got := Metrics(back); !reflect.DeepEqual(got, back.Metrics) {
		t.Fatalf("Metrics of the result read back differ from its metrics:\n%v\n%v", got, back.Metrics)
	}

	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scheduling latency     p50 5ms", "pod startup (SLI)      p50 515ms",
		"fault                  NodeCrash node/node-2 at 2m0s: workloads whole again after 5m50.535s"} {
		if !bytes.Contains(text.Bytes(), []byte(want)) {
			t.Errorf("text output lacks %q", want)
		}
	}

	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"orrery", "kubernetesVersion", "scenario", "seed", "policy", "duration", "eventLog", "metrics",
		"sampleInterval", "series", "details", "timeline", "nodes", "nodesInUse", "deployments", "assertions"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("results.json lacks %q", k)
		}
	}
	if doc["scenario"] != "node-failure" || doc["policy"] != "default" || doc["seed"] != 1.0 || doc["sampleInterval"] != "5s" || doc["orrery"] != Version {
		t.Errorf("header %v %v %v %v %v", doc["scenario"], doc["policy"], doc["seed"], doc["sampleInterval"], doc["orrery"])
	}
	if el := doc["eventLog"].(map[string]any); len(el["sha256"].(string)) != 64 || el["entries"].(float64) == 0 {
		t.Errorf("eventLog %v", el)
	}
	details := doc["details"].(map[string]any)
	for _, k := range []string{"schedulingLatency", "podStartup", "podStartupE2E", "counts", "faults", "rollouts", "jobs", "makespan"} {
		if _, ok := details[k]; !ok {
			t.Errorf("details lack %q", k)
		}
	}
	metrics := map[string]float64{}
	for _, m := range doc["metrics"].([]any) {
		m := m.(map[string]any)
		if _, ok := m["unit"].(string); !ok {
			t.Errorf("metric without a unit: %v", m)
		}
		metrics[m["name"].(string)] = m["value"].(float64)
	}
	for name, want := range map[string]float64{
		"nodes.in-use": 2, "scheduling.latency.p99": 0.005, "pod-startup.latency.p50": 0.515, "evictions.taint": 1,
		"faults.count": 1, "faults.recovery.max": 350.535, "assertions.failed": 0, "pods.pending.max": 0,
	} {
		if got, ok := metrics[name]; !ok || got != want {
			t.Errorf("metric %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	series := doc["series"].([]any)
	if len(series) == 0 {
		t.Fatal("no series")
	}
	for _, s := range series {
		s := s.(map[string]any)
		pts := s["points"].([]any)
		// 12 minutes sampled every 5 s: 0, 5, ..., 720.
		if s["name"] == "" || s["unit"] == "" || len(pts) != 145 {
			t.Fatalf("series %v %v with %d points", s["name"], s["unit"], len(pts))
		}
		if p := pts[144].([]any); len(p) != 2 || p[0] != 720.0 {
			t.Fatalf("last point of %v: %v", s["name"], p)
		}
	}
}
