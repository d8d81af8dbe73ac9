package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/html"
	"github.com/orrery-sim/orrery/reports/metrics"
)

// htmlReport gathers what the HTML report shows from a comparison.
func htmlReport(c *comparison) *html.Report {
	r := &html.Report{Scenario: c.Scenario, Seeds: c.Seeds, Tables: c.Tables}
	for i, p := range c.Policies {
		r.Policies = append(r.Policies, html.Policy{Name: p.Name, Source: p.Source})
		for j, res := range c.Results[i] {
			r.Runs = append(r.Runs, html.Run{Policy: p.Name, Seed: c.Seeds[j], EventLog: res.EventLog.SHA256, Failed: res.Failed()})
		}
	}
	r.Series, r.CDFs = timeSeries(c)
	r.Curves = gpuCurves(c)
	return r
}

// gpuCurves returns, for runs replaying a trace by the OpenB protocol, the GPU allocation,
// the GPU fragmentation and the CPU allocation against the arrived GPU demand, as the FGD
// paper plots them: one line per policy at the mean over its seeds at each whole % of the
// capacity.
func gpuCurves(c *comparison) []html.Curve {
	alloc := html.Curve{Name: "gpu-allocation", Title: fmt.Sprintf("GPU allocation against arrived GPU demand (mean over %s)", seedsText(c.Seeds)),
		XLabel: "arrived GPU demand (% of capacity)", YLabel: "GPUs allocated (% of capacity)"}
	frag := html.Curve{Name: "gpu-fragmentation", Title: fmt.Sprintf("GPU fragmentation against arrived GPU demand (mean over %s)", seedsText(c.Seeds)),
		XLabel: "arrived GPU demand (% of capacity)", YLabel: "fragmented GPUs"}
	cpu := html.Curve{Name: "gpu-cpu-allocation", Title: fmt.Sprintf("CPU allocation against arrived GPU demand (mean over %s)", seedsText(c.Seeds)),
		XLabel: "arrived GPU demand (% of capacity)", YLabel: "CPU allocated (% of capacity)"}
	any := false
	for i, p := range c.Policies {
		var runs []*reports.GPUCurve
		for _, res := range c.Results[i] {
			if res.GPU != nil && res.GPU.Curve != nil {
				runs = append(runs, res.GPU.Curve)
			}
		}
		if len(runs) == 0 {
			continue
		}
		any = true
		n := len(runs[0].Allocation)
		for _, r := range runs[1:] {
			n = min(n, len(r.Allocation))
		}
		a, f, u := html.CurveLine{Label: p.Name}, html.CurveLine{Label: p.Name}, html.CurveLine{Label: p.Name}
		for k := range n {
			var sa, sf, su float64
			for _, r := range runs {
				sa += r.Allocation[k]
				sf += r.Fragmentation[k]
				su += r.CPUAllocation[k]
			}
			x, cnt := float64(k), float64(len(runs))
			a.X, a.Y = append(a.X, x), append(a.Y, 100*sa/cnt)
			f.X, f.Y = append(f.X, x), append(f.Y, sf/cnt)
			u.X, u.Y = append(u.X, x), append(u.Y, 100*su/cnt)
		}
		alloc.Lines, frag.Lines, cpu.Lines = append(alloc.Lines, a), append(frag.Lines, f), append(cpu.Lines, u)
	}
	if !any {
		return nil
	}
	return []html.Curve{alloc, frag, cpu}
}

// timeSeries returns the plots over time and the latency distributions of a comparison:
// every sampled series that is not zero throughout, one line per policy at the mean over
// its seeds at each sample time; and the CDFs of scheduling latency and pod startup latency
// (sig-scalability's SLI, and end to end) with each policy's pods of every seed pooled.
func timeSeries(c *comparison) ([]html.Series, []html.CDF) {
	var names []string
	units := map[string]string{}
	for _, byPolicy := range c.Results {
		for _, res := range byPolicy {
			for _, s := range res.Series {
				if _, ok := units[s.Name]; !ok {
					units[s.Name] = s.Unit
					names = append(names, s.Name)
				}
			}
		}
	}
	sort.Strings(names)
	var series []html.Series
	for _, name := range names {
		hs := html.Series{Name: name, Title: fmt.Sprintf("%s (mean over %s)", name, seedsText(c.Seeds)), Unit: units[name]}
		nonzero := false
		for i, p := range c.Policies {
			line := html.Line{Label: p.Name}
			var runs [][]metrics.Point
			for _, res := range c.Results[i] {
				if s := metrics.Find(res.Series, name); s != nil {
					runs = append(runs, s.Points)
				}
			}
			for k := 0; len(runs) > 0 && k < minLen(runs); k++ {
				sum := 0.0
				for _, pts := range runs {
					sum += pts[k].V
				}
				v := sum / float64(len(runs))
				nonzero = nonzero || v != 0
				line.Points = append(line.Points, html.Point{At: time.Duration(runs[0][k].T * float64(time.Second)), Value: v})
			}
			hs.Lines = append(hs.Lines, line)
		}
		if nonzero {
			series = append(series, hs)
		}
	}
	var cdfs []html.CDF
	for _, d := range []struct {
		name, title string
		of          func(*metrics.Details) metrics.Distribution
	}{
		{"scheduling-latency", "scheduling latency (creation to binding)", func(d *metrics.Details) metrics.Distribution { return d.SchedulingLatency }},
		{"pod-startup-latency", "pod startup latency (SLI)", func(d *metrics.Details) metrics.Distribution { return d.PodStartup }},
		{"pod-startup-e2e", "pod startup latency (end to end)", func(d *metrics.Details) metrics.Distribution { return d.PodStartupE2E }},
	} {
		cdf := html.CDF{Name: d.name, Title: d.title, Unit: "s"}
		any := false
		for i, p := range c.Policies {
			sample := html.Sample{Label: p.Name}
			for _, res := range c.Results[i] {
				if res.Details != nil {
					sample.Values = append(sample.Values, d.of(res.Details).Values...)
				}
			}
			any = any || len(sample.Values) > 0
			cdf.Samples = append(cdf.Samples, sample)
		}
		if any {
			cdfs = append(cdfs, cdf)
		}
	}
	return series, cdfs
}

// minLen is the length of the shortest list.
func minLen(runs [][]metrics.Point) int {
	n := len(runs[0])
	for _, r := range runs[1:] {
		n = min(n, len(r))
	}
	return n
}

// writeReport writes the HTML report to path, atomically.
func writeReport(path string, c *comparison) error {
	f, err := createAtomic(path)
	if err != nil {
		return inputError{err}
	}
	defer f.abort()
	if err := html.Write(f, htmlReport(c)); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil { // a report is for sharing
		return err
	}
	return f.commit()
}

// writePlots writes every plot of the report into dir as SVG and PNG.
func writePlots(dir string, c *comparison) error {
	_, err := html.WritePlots(dir, htmlReport(c))
	return err
}
