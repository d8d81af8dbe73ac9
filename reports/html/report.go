// Package html writes the report of orrery compare: one self-contained HTML file, readable
// offline, with each metric's table (mean, standard deviation, 95% interval, paired
// difference from the first policy) and plots drawn with gonum/plot as inline SVG — a bar
// chart with intervals per ranked metric, time series, and CDFs — and the same plots as SVG
// and PNG files.
package html

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/stats"
)

// Report is what the report shows.
type Report struct {
	Scenario string
	Seeds    []uint64
	Policies []Policy
	// Tables are the per-metric comparisons, in order.
	Tables []stats.Table
	// Series are quantities over virtual time, one line per policy.
	Series []Series
	// CDFs are distributions (latencies), one sample per policy.
	CDFs []CDF
	// Curves are quantities against another one than time (the GPU allocation against
	// the arrived demand), one line per policy.
	Curves []Curve
	// Runs list every run of the matrix.
	Runs []Run
}

// Policy names a policy and where its configuration comes from.
type Policy struct{ Name, Source string }

// Run identifies one run of the matrix.
type Run struct {
	Policy string
	Seed   uint64
	// EventLog is the SHA-256 of the run's event log.
	EventLog string
	// Failed counts the run's failed assertions.
	Failed int
}

// Series is a quantity over virtual time.
type Series struct {
	// Name names the plot's files; Title heads it (Name when empty).
	Name, Title, Unit string
	Lines             []Line
}

// Line is one policy's (or one run's) values over time.
type Line struct {
	Label  string
	Points []Point
}

// Point is a value at a virtual time from the start of the run.
type Point struct {
	At    time.Duration
	Value float64
}

// Curve is a quantity as a function of another.
type Curve struct {
	// Name names the plot's files; Title heads it (Name when empty).
	Name, Title, XLabel, YLabel string
	Lines                       []CurveLine
}

// CurveLine is one policy's curve: Y[i] at X[i].
type CurveLine struct {
	Label string
	X, Y  []float64
}

// CDF is the distribution of a quantity.
type CDF struct {
	// Name names the plot's files; Title heads it (Name when empty).
	Name, Title, Unit string
	Samples           []Sample
}

// Sample is one policy's observations of the quantity.
type Sample struct {
	Label  string
	Values []float64
}

// Write writes the report as one HTML document with its plots inline.
func Write(w io.Writer, r *Report) error {
	figs, err := Figures(r)
	if err != nil {
		return err
	}
	svgs := map[string]template.HTML{}
	for _, f := range figs {
		b, err := f.SVG()
		if err != nil {
			return err
		}
		if i := bytes.Index(b, []byte("<svg")); i > 0 {
			b = b[i:] // drop the XML prolog, which has no place inside HTML
		}
		svgs[f.Name] = template.HTML(b) // drawn by gonum/plot from our own numbers
	}
	type section struct {
		stats.Table
		Direction string
		Rows      [][]string
		Figure    template.HTML
	}
	type plotted struct {
		Title  string
		Figure template.HTML
	}
	data := struct {
		*Report
		Version   string
		Level     string
		SeedsText string
		Base      string
		Sections  []section
		Series    []plotted
		Curves    []plotted
		CDFs      []plotted
	}{Report: r, Version: reports.Version, Level: fmt.Sprintf("%g%%", stats.Level*100), SeedsText: seedsText(r.Seeds)}
	if len(r.Policies) > 0 {
		data.Base = r.Policies[0].Name
	}
	for _, t := range r.Tables {
		s := section{Table: t, Direction: stats.Direction(t.Better), Figure: svgs["bars-"+fileName(t.Metric)]}
		for _, row := range t.Rows {
			d, dci, p := stats.Missing, stats.Missing, stats.Missing
			if row.Diff != nil {
				d, dci, p = stats.FormatSigned(row.Diff.Mean), stats.FormatCI(row.Diff.Low, row.Diff.High, true), stats.FormatP(row.Diff.P)
			}
			s.Rows = append(s.Rows, []string{row.Policy, fmt.Sprint(row.N), stats.FormatNum(row.Mean), stats.FormatNum(row.SD),
				stats.FormatCI(row.Low, row.High, false), d, dci, p})
		}
		data.Sections = append(data.Sections, s)
	}
	for _, f := range figs {
		switch {
		case len(f.Name) > 7 && f.Name[:7] == "series-":
			data.Series = append(data.Series, plotted{f.Title, svgs[f.Name]})
		case len(f.Name) > 6 && f.Name[:6] == "curve-":
			data.Curves = append(data.Curves, plotted{f.Title, svgs[f.Name]})
		case len(f.Name) > 4 && f.Name[:4] == "cdf-":
			data.CDFs = append(data.CDFs, plotted{f.Title, svgs[f.Name]})
		}
	}
	return page.Execute(w, data)
}

// seedsText describes the seeds: "10 seeds (1–10)".
func seedsText(seeds []uint64) string {
	switch len(seeds) {
	case 0:
		return "no seeds"
	case 1:
		return fmt.Sprintf("1 seed (%d)", seeds[0])
	}
	return fmt.Sprintf("%d seeds (%d–%d)", len(seeds), seeds[0], seeds[len(seeds)-1])
}

// WritePlots writes every figure into dir as NAME.svg and NAME.png, each file written
// whole under a temporary name and renamed into place, and returns the file names.
func WritePlots(dir string, r *Report) ([]string, error) {
	figs, err := Figures(r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	var names []string
	for _, f := range figs {
		for _, format := range []string{"svg", "png"} {
			b, err := f.render(format)
			if err != nil {
				return nil, err
			}
			name := filepath.Join(dir, f.Name+"."+format)
			if err := writeFileAtomic(name, b); err != nil {
				return nil, err
			}
			names = append(names, name)
		}
	}
	return names, nil
}

// writeFileAtomic writes data to a temporary file beside name and renames it into place.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return os.Rename(f.Name(), name)
}
