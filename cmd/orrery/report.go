package main

import (
	"github.com/orrery-sim/orrery/reports/html"
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
	return r
}

// timeSeries returns the plots over time and the latency distributions of a comparison.
//
// This is the seam for the metrics collected in virtual time: reports.Result carries no time
// series or latency samples yet, so there is nothing to plot and the report says so.
func timeSeries(c *comparison) ([]html.Series, []html.CDF) {
	return nil, nil
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
