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
