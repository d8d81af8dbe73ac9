package html

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/stats"
)

func sample() *Report {
	runs := [][][]reports.Metric{
		{{{Name: "nodes.in-use", Unit: "nodes", Value: 12, Better: reports.Lower}, {Name: "traffic.requests", Unit: "requests", Value: 100}},
			{{Name: "nodes.in-use", Unit: "nodes", Value: 11, Better: reports.Lower}, {Name: "traffic.requests", Unit: "requests", Value: 100}}},
		{{{Name: "nodes.in-use", Unit: "nodes", Value: 4, Better: reports.Lower}, {Name: "traffic.requests", Unit: "requests", Value: 100}},
			{{Name: "nodes.in-use", Unit: "nodes", Value: 5, Better: reports.Lower}, {Name: "traffic.requests", Unit: "requests", Value: 100}}},
	}
	return &Report{
		Scenario: "binpack", Seeds: []uint64{1, 2},
		Policies: []Policy{{"default", "builtin:default"}, {"most-allocated", "builtin:most-allocated"}},
		Tables:   stats.Compare([]string{"default", "most-allocated"}, runs),
		Series: []Series{{Name: "pods.pending", Unit: "pods", Lines: []Line{
			{Label: "default", Points: []Point{{0, 30}, {5 * time.Second, 2}, {10 * time.Second, 0}}},
			{Label: "most-allocated", Points: []Point{{0, 30}, {5 * time.Second, 4}, {10 * time.Second, 0}}},
		}}},
		CDFs: []CDF{{Name: "scheduling latency", Unit: "s", Samples: []Sample{
			{Label: "default", Values: []float64{0.3, 0.1, 0.2}}, {Label: "most-allocated", Values: []float64{0.15, 0.25}},
		}}},
		Runs: []Run{{"default", 1, "ab12", 0}},
	}
}

// TestWrite: one HTML file with the tables and four inline SVG plots — a bar chart for the
// one ranked metric (the unranked request count gets none), the series, the CDF — and no
// scripts or external assets; the same report gives the same bytes.
func TestWrite(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, sample()); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of one report differ")
	}
	doc := a.String()
	if n := strings.Count(doc, "<svg"); n != 3 {
		t.Errorf("%d inline SVGs, want 3 (bars of nodes.in-use, pods.pending, the CDF)", n)
	}
	for _, bad := range []string{"<?xml", "<script", `src=`, `href="http`, "@import", "url("} {
		if strings.Contains(doc, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, want := range []string{
		// most-allocated {4, 5}: mean 4.5, sd √.5 = .7071, 4.5 ± 12.706205 × .5. Differences
		// from default {−8, −6}: mean −7, sd √2, se 1, −7 ± 12.706205; t = −7 on 1 df (Cauchy):
		// p = 2(1 − (1/2 + atan(7)/π)) = 2(1 − .954833) = .0903. html/template writes + as &#43;.
		"<td>most-allocated</td><td>2</td><td>4.5</td><td>0.7071</td><td>[-1.853, 10.85]</td><td>-7</td><td>[-19.71, &#43;5.706]</td><td>0.0903</td>",
		"<code>builtin:most-allocated</code>", "nodes.in-use", "Δ vs default", "pods.pending", "scheduling latency (CDF)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Without series or samples, the report says so instead of plotting nothing.
	r := sample()
	r.Series, r.CDFs = nil, nil
	var c bytes.Buffer
	if err := Write(&c, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.String(), "These runs carry no time series.") || strings.Count(c.String(), "<svg") != 1 {
		t.Error("a report without series should say so and keep its bar chart")
	}
}

// TestWritePlots: every figure as an SVG that parses as XML and a 576×336 PNG (6×3.5 in at
// 96 dpi), no temporary files left.
func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	names, err := WritePlots(dir, sample())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bars-nodes.in-use.svg", "bars-nodes.in-use.png", "series-pods.pending.svg", "series-pods.pending.png",
		"cdf-scheduling_latency.svg", "cdf-scheduling_latency.png"}
	if len(names) != len(want) {
		t.Fatalf("wrote %v", names)
	}
	for i, n := range names {
		if filepath.Base(n) != want[i] {
			t.Errorf("file %d is %s, want %s", i, filepath.Base(n), want[i])
		}
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, ".png") {
			img, err := png.Decode(f)
			if err != nil {
				t.Errorf("%s: %v", n, err)
			} else if b := img.Bounds(); b.Dx() != 576 || b.Dy() != 336 {
				t.Errorf("%s: %v", n, b)
			}
		} else {
			dec := xml.NewDecoder(f)
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Errorf("%s: %v", n, err)
					break
				}
			}
		}
		f.Close()
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestFileName(t *testing.T) {
	if got := fileName("traffic.default/web.failed"); got != "traffic.default_web.failed" {
		t.Errorf("fileName = %q", got)
	}
	if ok := regexp.MustCompile(`^[A-Za-z0-9._-]+$`).MatchString(fileName("pods.unschedulable[Insufficient cpu]")); !ok {
		t.Error("unsafe file name")
	}
}

// TestCDFSteps: one corner per distinct value, at the fraction of values at or below it;
// a large sample keeps at most maxCDFSteps+2 corners, the last at 1.
func TestCDFSteps(t *testing.T) {
	got := cdfSteps([]float64{1, 1, 2, 5, 5, 5})
	want := plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: 2.0 / 6}, {X: 2, Y: 3.0 / 6}, {X: 5, Y: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cdfSteps = %v, want %v", got, want)
	}
	big := make([]float64, 100000)
	for i := range big {
		big[i] = float64(i)
	}
	steps := cdfSteps(big)
	if len(steps) > maxCDFSteps+2 || steps[len(steps)-1] != (plotter.XY{X: 99999, Y: 1}) || steps[0] != (plotter.XY{X: 0, Y: 0}) {
		t.Errorf("%d steps, first %v, last %v", len(steps), steps[0], steps[len(steps)-1])
	}
}
