package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orrery-sim/orrery/reports"
)

// committedBaseline is the bench baseline of binpack kept in the repository.
const committedBaseline = "../../scenarios/builtin/binpack/baseline.json"

// junitDoc is the JUnit XML schema's shape, read back strictly enough to catch a malformed
// file: a testsuites root holding testsuites of testcases with at most one failure or error.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Time       string `xml:"time,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"failure"`
			Error []struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// readJUnit parses a JUnit file and checks that its counts agree with its testcases.
func readJUnit(t *testing.T, file string) junitDoc {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), xml.Header) {
		t.Errorf("no XML declaration: %.60s", data)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites", len(doc.Suites))
	}
	s := doc.Suites[0]
	failures, errs := 0, 0
	for _, c := range s.Cases {
		if c.Name == "" || c.Classname != s.Name || len(c.Failure)+len(c.Error) > 1 {
			t.Errorf("testcase %+v", c)
		}
		failures += len(c.Failure)
		errs += len(c.Error)
	}
	if s.Tests != len(s.Cases) || s.Failures != failures || s.Errors != errs || doc.Tests != s.Tests || doc.Failures != failures || doc.Errors != errs || s.Time == "" {
		t.Errorf("counts disagree: suites %d/%d/%d, suite %d/%d/%d, cases %d/%d/%d", doc.Tests, doc.Failures, doc.Errors, s.Tests, s.Failures, s.Errors, len(s.Cases), failures, errs)
	}
	return doc
}

func readBaselineFile(t *testing.T, file string) *baseline {
	t.Helper()
	b, err := readBaseline(file, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBenchCommittedBaseline: binpack under most-allocated meets its committed baseline
// (exit 0), one JUnit testcase per ranked metric, none failed.
func TestBenchCommittedBaseline(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out, errOut := orrery("bench", "binpack", "--baseline", committedBaseline, "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d against the committed baseline: %s\n%s\nIf the change of behaviour is intended, run: go run ./cmd/orrery bench binpack --baseline scenarios/builtin/binpack/baseline.json --update-baseline", code, errOut, out)
	}
	b := readBaselineFile(t, committedBaseline)
	doc := readJUnit(t, junit)
	if s := doc.Suites[0]; s.Tests != len(b.Metrics) || s.Failures != 0 || s.Name != "orrery.bench.binpack" {
		t.Errorf("suite %s: %d tests %d failures; baseline has %d metrics", s.Name, s.Tests, s.Failures, len(b.Metrics))
	}
	if !strings.Contains(out, "│ nodes.in-use ") || !strings.Contains(out, "policy most-allocated") {
		t.Errorf("table:\n%s", out)
	}
}

// TestBenchRegression: a baseline edited to be better than achievable — 3 nodes in use
// where most-allocated needs 4 for 30 one-CPU pods on 8-CPU nodes — fails with exit 1 and
// one JUnit failure on nodes.in-use; a metric the runs lack is an error.
func TestBenchRegression(t *testing.T) {
	dir := t.TempDir()
	b := readBaselineFile(t, committedBaseline)
	m := b.Metrics["nodes.in-use"]
	m.Value = 3
	b.Metrics["nodes.in-use"] = m
	b.Metrics["no.such.metric"] = baselineMetric{Value: 1, Better: reports.Lower}
	file := filepath.Join(dir, "better.json")
	data, _ := json.Marshal(b)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "junit.xml")
	code, out, errOut := orrery("bench", "bin-packing", "--baseline", file, "--junit", junit)
	if code != exitFailed || !strings.Contains(errOut, "2 of ") || !strings.Contains(errOut, "no.such.metric, nodes.in-use") {
		t.Fatalf("exit %d, stderr %q; want 1 naming no.such.metric and nodes.in-use", code, errOut)
	}
	if !strings.Contains(out, "│ nodes.in-use            │ nodes       │ lower  │ 3        │ 4     │ [4, 4]         │ +1 │ +33.33% │ 5%        │ REGRESSED │") {
		t.Errorf("table:\n%s", out)
	}
	doc := readJUnit(t, junit)
	s := doc.Suites[0]
	if s.Failures != 1 || s.Errors != 1 {
		t.Fatalf("%d failures, %d errors; want 1 and 1", s.Failures, s.Errors)
	}
	for _, c := range s.Cases {
		switch c.Name {
		case "nodes.in-use":
			if len(c.Failure) != 1 || c.Failure[0].Type != "regression" || c.Failure[0].Message != "nodes.in-use regressed: mean 4, baseline 3 (lower is better, tolerance 5%)" {
				t.Errorf("nodes.in-use: %+v", c)
			}
		case "no.such.metric":
			if len(c.Error) != 1 {
				t.Errorf("no.such.metric: %+v", c)
			}
		default:
			if len(c.Failure)+len(c.Error) > 0 {
				t.Errorf("%s failed: %+v", c.Name, c)
			}
		}
	}
	// With a tolerance of 40%, 4 is within 3 × 1.4 = 4.2: only the missing metric fails.
	code, _, errOut = orrery("bench", "binpack", "--baseline", file, "--tolerance", "0.4")
	if code != exitFailed || !strings.Contains(errOut, "1 of ") {
		t.Errorf("--tolerance 0.4: exit %d, %s", code, errOut)
	}
}

// TestBenchUpdateBaseline: --update-baseline creates a baseline from the runs (atomically,
// keeping a metric's own tolerance on the next update), and the runs then meet it.
func TestBenchUpdateBaseline(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "b.json")
	code, out, errOut := orrery("bench", "binpack", "--baseline", file, "--update-baseline", "--seeds", "2", "--policy", "default")
	if code != 0 || !strings.Contains(out, "Baseline "+file+" updated.") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	b := readBaselineFile(t, file)
	if b.Scenario != "binpack" || b.Policy != "default" || b.Seeds != 2 || b.SeedStart != 1 || b.Metrics["nodes.in-use"].Value != 12 || b.Metrics["nodes.in-use"].Better != reports.Lower {
		t.Fatalf("baseline %+v", b)
	}
	if _, ok := b.Metrics["scheduling.pods"]; ok {
		t.Error("an unranked metric is in the baseline")
	}
	tol := 0.5
	m := b.Metrics["nodes.in-use"]
	m.Tolerance = &tol
	b.Metrics["nodes.in-use"] = m
	data, _ := json.Marshal(b)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := orrery("bench", "binpack", "--baseline", file, "--update-baseline"); code != 0 {
		t.Fatalf("second update: exit %d: %s", code, errOut)
	}
	if b := readBaselineFile(t, file); b.Metrics["nodes.in-use"].Tolerance == nil || *b.Metrics["nodes.in-use"].Tolerance != 0.5 || b.Seeds != 2 {
		t.Errorf("the update lost the metric's tolerance or the seeds: %+v", b)
	}
	if code, _, errOut := orrery("bench", "binpack", "--baseline", file); code != 0 {
		t.Errorf("against its own baseline: exit %d: %s", code, errOut)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"binpack"}, "--baseline: a baseline file is required"},
		{[]string{"binpack", "--baseline", filepath.Join(dir, "none.json")}, "baseline: open"},
		{[]string{"binpack", "--baseline", write("unknown.json", `{"scenario":"binpack","metrics":{},"extra":1}`)}, `unknown field "extra"`},
		{[]string{"binpack", "--baseline", write("better.json", `{"metrics":{"nodes.in-use":{"value":4,"better":"sideways"}}}`)}, `metrics["nodes.in-use"].better: "sideways", want lower or higher`},
		{[]string{"binpack", "--baseline", write("tol.json", `{"metrics":{"nodes.in-use":{"value":4,"better":"lower","tolerance":-1}}}`)}, `metrics["nodes.in-use"].tolerance: -1`},
		{[]string{"binpack", "--baseline", write("other.json", `{"scenario":"drain","metrics":{}}`)}, `the baseline is of scenario "drain", not "binpack"`},
		{[]string{"binpack", "--baseline", committedBaseline, "--policy", "nope"}, `policy "nope"`},
		{[]string{"binpack", "--baseline", committedBaseline, "--seeds", "0"}, "--seeds 0"},
	} {
		code, _, errOut := orrery(append([]string{"bench"}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(errOut, tc.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		mean, value float64
		better      reports.Better
		tol         float64
		want        string
	}{
		{4, 4, reports.Lower, 0, benchOK},
		{4.2, 4, reports.Lower, 0.05, benchOK}, // 4 × 1.05 = 4.2: on the edge is within
		{4.21, 4, reports.Lower, 0.05, benchRegressed},
		{3.79, 4, reports.Lower, 0.05, benchImproved},
		{0.1, 0, reports.Lower, 0.5, benchRegressed}, // a zero baseline allows nothing
		{0.94, 1, reports.Higher, 0.05, benchRegressed},
		{0.96, 1, reports.Higher, 0.05, benchOK},
		{1.06, 1, reports.Higher, 0.05, benchImproved},
	} {
		if got := judge(tc.mean, tc.value, tc.better, tc.tol); got != tc.want {
			t.Errorf("judge(%v, %v, %s, %v) = %s, want %s", tc.mean, tc.value, tc.better, tc.tol, got, tc.want)
		}
	}
}
