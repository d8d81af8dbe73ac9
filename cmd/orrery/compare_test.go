package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// orrery runs the command line and returns its exit code, stdout and stderr.
func orrery(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := execute(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

type compareOut struct {
	Seeds   []uint64 `json:"seeds"`
	Metrics []struct {
		Name     string `json:"name"`
		Policies []struct {
			Policy string     `json:"policy"`
			N      int        `json:"n"`
			Mean   *float64   `json:"mean"`
			SD     *float64   `json:"sd"`
			CI     []*float64 `json:"ci"`
			Values []*float64 `json:"values"`
			Diff   *struct {
				N    int        `json:"n"`
				Mean *float64   `json:"mean"`
				CI   []*float64 `json:"ci"`
				P    *float64   `json:"p"`
			} `json:"diff"`
		} `json:"policies"`
	} `json:"metrics"`
	Runs []struct {
		Policy   string `json:"policy"`
		Seed     uint64 `json:"seed"`
		EventLog string `json:"eventLogSHA256"`
	} `json:"runs"`
}

// TestCompareBinpack: on binpack the default profile spreads 30 one-CPU pods over all 12
// nodes on every seed, and most-allocated packs them onto 4 (30 CPUs in 8-CPU nodes), so the
// paired difference is exactly −8 nodes with no variance: interval [−8, −8], p 0.
func TestCompareBinpack(t *testing.T) {
	code, out, errOut := orrery("compare", "bin-packing", "--policy", "default", "--policy", "most-allocated", "--seeds", "3", "--seed-start", "4", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var c compareOut
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Seeds) != 3 || c.Seeds[0] != 4 || c.Seeds[2] != 6 || len(c.Runs) != 6 || c.Runs[3].Policy != "most-allocated" || c.Runs[3].Seed != 4 {
		t.Fatalf("seeds %v, runs %+v", c.Seeds, c.Runs)
	}
	found := false
	for _, m := range c.Metrics {
		if m.Name != "nodes.in-use" {
			continue
		}
		found = true
		def, ma := m.Policies[0], m.Policies[1]
		if def.Policy != "default" || def.N != 3 || *def.Mean != 12 || *def.SD != 0 || *def.CI[0] != 12 || def.Diff != nil {
			t.Errorf("default: %+v", def)
		}
		if d := ma.Diff; ma.Policy != "most-allocated" || *ma.Mean != 4 || d == nil || d.N != 3 || *d.Mean != -8 || *d.CI[0] != -8 || *d.CI[1] != -8 || *d.P != 0 {
			t.Errorf("most-allocated: %+v diff %+v", ma, ma.Diff)
		}
	}
	if !found {
		t.Fatal("no nodes.in-use")
	}
}

// TestCompareOneSeed: one seed has no spread and no interval; JSON says null, the table "—".
func TestCompareOneSeed(t *testing.T) {
	code, out, errOut := orrery("compare", "binpack", "--policy", "default", "--policy", "least-allocated", "--seeds", "1", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var c compareOut
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	p := c.Metrics[0].Policies[1]
	if p.N != 1 || p.SD != nil || p.CI[0] != nil || p.Diff.P != nil {
		t.Errorf("one seed: %+v", p)
	}
	_, text, _ := orrery("compare", "binpack", "--policy", "default", "--seeds", "1", "--metric", "nodes.in-use")
	if strings.Count(text, "POLICY") != 3 { // nodes.in-use, .max and .mean
		t.Errorf("--metric nodes.in-use printed %d tables", strings.Count(text, "POLICY"))
	}
	if !strings.Contains(text, "│ default │ 1    │ 12   │ —  │ —      │") {
		t.Errorf("table:\n%s", text)
	}
}

// TestCompareDeterministic: the table and the JSON are the same bytes with one job or four.
func TestCompareDeterministic(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		args := []string{"compare", "binpack", "--policy", "most-allocated", "--policy", "default", "--policy", "random", "--seeds", "3", "-o", format}
		_, one, _ := orrery(append(args, "--jobs", "1")...)
		code, four, errOut := orrery(append(args, "--jobs", "4")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if one != four {
			t.Errorf("%s differs between --jobs 1 and --jobs 4:\n%s\n---\n%s", format, one, four)
		}
	}
}

func TestCompareBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"binpack", "--policy", "most-alocated"}, `policy "most-alocated" is neither built in`},
		{[]string{"binpack"}, "--policy: at least one policy is required"},
		{[]string{"binpack", "--policy", "default", "--policy", "default"}, `--policy "default" given twice`},
		{[]string{"binpack", "--policy", "default", "--seeds", "0"}, "--seeds 0: want at least 1"},
		{[]string{"binpack", "--policy", "default", "--jobs", "0"}, "--jobs 0: want at least 1"},
		{[]string{"binpack", "--policy", "default", "-o", "xml"}, `-o "xml": want table or json`},
		{[]string{"no-such-scenario", "--policy", "default"}, `scenario "no-such-scenario"`},
		{[]string{"--policy", "default"}, "accepts 1 arg(s)"},
		{[]string{"binpack", "--policy", "default", "--seeds", "1", "--metric", "nope"}, "--metric nope: no metric has that name or prefix"},
	} {
		code, _, errOut := orrery(append([]string{"compare"}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(errOut, tc.want) {
			t.Errorf("compare %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestCompareReport: --report writes one HTML file with the bar charts, the series and the
// CDFs inline, the same bytes whatever --jobs; --plots writes each figure as SVG and PNG.
func TestCompareReport(t *testing.T) {
	dir := t.TempDir()
	var reps []string
	for _, jobs := range []string{"1", "3"} {
		rep := filepath.Join(dir, "report-"+jobs+".html")
		args := []string{"compare", "binpack", "--policy", "default", "--policy", "most-allocated", "--seeds", "2", "--jobs", jobs, "--report", rep}
		if jobs == "1" {
			args = append(args, "--plots", filepath.Join(dir, "plots"))
		}
		if code, _, errOut := orrery(args...); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		data, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, string(data))
	}
	if reps[0] != reps[1] {
		t.Error("the report differs between --jobs 1 and --jobs 3")
	}
	doc := reps[0]
	for _, want := range []string{"nodes.in-use (nodes; lower is better): mean and 95% interval", "pods.pending (mean over 2 seeds (1–2))",
		"scheduling latency (creation to binding) (CDF)", "<td>most-allocated</td><td>2</td><td>4</td>"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(doc, "<script") || strings.Contains(doc, `src="http`) {
		t.Error("the report loads something from outside")
	}
	for _, f := range []string{"bars-nodes.in-use.svg", "bars-nodes.in-use.png", "series-pods.pending.png", "cdf-scheduling-latency.png"} {
		fi, err := os.Stat(filepath.Join(dir, "plots", f))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestCompareScenarioExperiment: without --policy, compare runs the policies the
// scenario's spec.compare lists (Best-fit then FGD on a small OpenB-layout trace filled to
// 130% of its 6 GPUs) and shows only its metrics (gpu); the allocation at 130% arrival is
// what the unallocated GPUs leave, and since more GPU demand arrived than there are GPUs,
// some pods are left unplaced on every run. The HTML report carries the allocation curves.
func TestCompareScenarioExperiment(t *testing.T) {
	report := filepath.Join(t.TempDir(), "r.html")
	code, out, errOut := orrery("compare", "testdata/gpucompare/scenario.yaml", "--seeds", "3", "-o", "json", "--report", report)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var c compareOut
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string][][]*float64{} // metric → policy → values
	for _, m := range c.Metrics {
		names = append(names, m.Name)
		if len(m.Policies) != 2 || m.Policies[0].Policy != "BestFit" || m.Policies[1].Policy != "FGD" {
			t.Fatalf("%s: policies %+v, want BestFit and FGD", m.Name, m.Policies)
		}
		for _, p := range m.Policies {
			byName[m.Name] = append(byName[m.Name], p.Values)
		}
	}
	want := []string{"gpu.allocation.arrived-100", "gpu.allocation.arrived-130", "gpu.cpu-allocation", "gpu.fragmentation", "gpu.fragmentation.rate", "gpu.pods.unplaced", "gpu.unallocated"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("metrics %v, want %v", names, want)
	}
	for p := range 2 {
		for s := range 3 {
			alloc := *byName["gpu.allocation.arrived-130"][p][s]
			unalloc := *byName["gpu.unallocated"][p][s]
			if d := alloc - 100*(6-unalloc)/6; d > 1e-9 || d < -1e-9 {
				t.Errorf("policy %d seed %d: %.4f%% allocated at 130%% but %.4f GPUs of 6 unallocated", p, s, alloc, unalloc)
			}
			if *byName["gpu.pods.unplaced"][p][s] < 1 {
				t.Errorf("policy %d seed %d: every pod placed though 130%% of the GPUs arrived", p, s)
			}
		}
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"GPU allocation against arrived GPU demand", "GPU fragmentation against arrived GPU demand", "CPU allocation against arrived GPU demand", "arrived GPU demand (% of capacity)"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("the report lacks %q", s)
		}
	}
}

// TestCompareScenarioExperimentBadFile: a policy file of spec.compare that cannot be read
// is bad input, named by its field path.
func TestCompareScenarioExperimentBadFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"openb_node_list.csv", "openb_pod_list.csv", "fgd.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/gpucompare", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/gpucompare/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.yaml"), b, 0o644); err != nil { // bestfit.yaml missing
		t.Fatal(err)
	}
	code, _, errOut := orrery("compare", filepath.Join(dir, "scenario.yaml"), "--seeds", "1")
	if code != 2 || !strings.Contains(errOut, "spec.compare.policies[0].scheduler") || !strings.Contains(errOut, `cannot read "bestfit.yaml"`) {
		t.Fatalf("exit %d, stderr %q; want 2 naming spec.compare.policies[0].scheduler", code, errOut)
	}
}
