package html

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/stats"
)

// Size of every figure.
const (
	Width  = 6 * vg.Inch
	Height = 3.5 * vg.Inch
)

// palette is Okabe and Ito's colour-blind safe set; policy i gets palette[i % len].
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

func colour(i int) color.Color { return palette[i%len(palette)] }

// Figure is one plot of the report.
type Figure struct {
	// Name is the figure's file name without extension (bars-nodes.in-use).
	Name  string
	Title string
	plot  *plot.Plot
}

// Figures draws every plot of a report: a bar chart with 95% intervals per ranked metric
// that is not 0 in every run, then each time series, each curve, and each CDF.
func Figures(r *Report) ([]Figure, error) {
	var out []Figure
	for _, t := range r.Tables {
		if t.Better == reports.Neither || allZero(t) {
			continue
		}
		p, err := bars(t)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", t.Metric, err)
		}
		out = append(out, Figure{Name: "bars-" + fileName(t.Metric), Title: p.Title.Text, plot: p})
	}
	for _, s := range r.Series {
		p, err := lines(s)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.Name, err)
		}
		out = append(out, Figure{Name: "series-" + fileName(s.Name), Title: p.Title.Text, plot: p})
	}
	for _, c := range r.Curves {
		p, err := curve(c)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", c.Name, err)
		}
		out = append(out, Figure{Name: "curve-" + fileName(c.Name), Title: p.Title.Text, plot: p})
	}
	for _, c := range r.CDFs {
		p, err := cdf(c)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", c.Name, err)
		}
		out = append(out, Figure{Name: "cdf-" + fileName(c.Name), Title: p.Title.Text, plot: p})
	}
	return out, nil
}

// allZero says whether every run of every policy has the metric at 0 (or lacks it).
func allZero(t stats.Table) bool {
	for _, row := range t.Rows {
		for _, v := range row.Values {
			if v != 0 && !math.IsNaN(v) {
				return false
			}
		}
	}
	return true
}

// fileName makes a metric name safe as a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// errPoints are the bars' tops with their interval, for plotter.YErrorBars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// bars draws one bar per policy at its mean, with the 95% interval as an error bar.
func bars(t stats.Table) (*plot.Plot, error) {
	p := newPlot()
	p.Title.Text = fmt.Sprintf("%s (%s; %s): mean and %g%% interval", t.Metric, t.Unit, stats.Direction(t.Better), stats.Level*100)
	p.Y.Label.Text = t.Unit
	p.Add(plotter.NewGrid())
	var names []string
	var pts errPoints
	top := 0.0
	for i, row := range t.Rows {
		names = append(names, row.Policy)
		mean := row.Mean
		if math.IsNaN(mean) {
			mean = 0
		}
		b, err := plotter.NewBarChart(plotter.Values{mean}, vg.Points(40))
		if err != nil {
			return nil, err
		}
		top = max(top, mean)
		if !math.IsNaN(row.High) {
			top = max(top, row.High)
		}
		b.XMin = float64(i)
		b.Color = colour(i)
		b.LineStyle.Width = 0
		p.Add(b)
		if !math.IsNaN(row.Low) {
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(i), Y: row.Mean})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{row.Mean - row.Low, row.High - row.Mean})
		}
	}
	if len(pts.XYs) > 0 {
		e, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, err
		}
		e.CapWidth = vg.Points(12)
		e.LineStyle.Width = vg.Points(1.2)
		p.Add(e)
	}
	p.NominalX(names...)
	// Half a slot either side of the bars, and a tenth of headroom under the title.
	p.X.Min, p.X.Max = -0.5, float64(len(t.Rows))-0.5
	if top > 0 {
		p.Y.Max = top * 1.1
	}
	return p, nil
}

// lines draws a time series, one line per label.
func lines(s Series) (*plot.Plot, error) {
	p := newPlot()
	p.Title.Text = cmp.Or(s.Title, s.Name)
	p.X.Label.Text = "virtual time (s)"
	p.Y.Label.Text = s.Unit
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	top := 0.0
	for i, l := range s.Lines {
		xys := make(plotter.XYs, len(l.Points))
		for j, pt := range l.Points {
			xys[j] = plotter.XY{X: pt.At.Seconds(), Y: pt.Value}
			top = max(top, pt.Value)
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.StepStyle = plotter.PostStep
		line.Color = colour(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(l.Label, line)
	}
	if top > 0 {
		p.Y.Max = top * 1.25 // room for the legend above the lines
	}
	return p, nil
}

// curve draws each line of a curve, with a legend in the lower right corner (curves of
// allocation rise to the right).
func curve(c Curve) (*plot.Plot, error) {
	p := newPlot()
	p.Title.Text = cmp.Or(c.Title, c.Name)
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Legend.Top = false
	p.Add(plotter.NewGrid())
	for i, l := range c.Lines {
		if len(l.X) == 0 || len(l.X) != len(l.Y) {
			continue
		}
		xys := make(plotter.XYs, len(l.X))
		for j := range l.X {
			xys[j] = plotter.XY{X: l.X[j], Y: l.Y[j]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = colour(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(l.Label, line)
	}
	return p, nil
}

// cdf draws each sample's empirical distribution function.
func cdf(c CDF) (*plot.Plot, error) {
	p := newPlot()
	p.Title.Text = cmp.Or(c.Title, c.Name) + " (CDF)"
	p.X.Label.Text = c.Unit
	p.Y.Label.Text = "fraction ≤ x"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false // bottom right, where a CDF has nothing yet
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	low, high := math.Inf(1), math.Inf(-1)
	for i, s := range c.Samples {
		if len(s.Values) == 0 {
			continue
		}
		vs := append([]float64(nil), s.Values...)
		sort.Float64s(vs)
		low, high = min(low, vs[0]), max(high, vs[len(vs)-1])
		line, err := plotter.NewLine(cdfSteps(vs))
		if err != nil {
			return nil, err
		}
		line.StepStyle = plotter.PostStep
		line.Color = colour(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.Label, line)
	}
	if low >= 0 && high > 0 {
		p.X.Min, p.X.Max = 0, high*1.05 // durations start at 0
	}
	return p, nil
}

// newPlot returns an empty plot whose title keeps clear of the top edge.
func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.Padding = vg.Points(6)
	return p
}

// maxCDFSteps bounds the steps a CDF line draws: finer steps than 1/maxCDFSteps of the
// height are not visible, and tens of thousands of samples would make megabytes of SVG.
const maxCDFSteps = 2000

// cdfSteps returns the corners of the empirical CDF of sorted values: one per distinct
// value (the fraction of values at or below it), skipping those that rise less than
// 1/maxCDFSteps above the last one kept; the first and last are always there.
func cdfSteps(sorted []float64) plotter.XYs {
	n := len(sorted)
	xys := plotter.XYs{{X: sorted[0], Y: 0}}
	lastBin := -1
	for j, v := range sorted {
		if j+1 < n && sorted[j+1] == v {
			continue // the step is at the last of equal values
		}
		y := float64(j+1) / float64(n)
		if bin := int(y * maxCDFSteps); bin > lastBin || j+1 == n {
			xys = append(xys, plotter.XY{X: v, Y: y})
			lastBin = bin
		}
	}
	return xys
}

// render draws a figure as "svg" or "png".
func (f Figure) render(format string) ([]byte, error) {
	wt, err := f.plot.WriterTo(Width, Height, format)
	if err != nil {
		return nil, fmt.Errorf("figure %s: %w", f.Name, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure %s: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// SVG returns the figure as an SVG document.
func (f Figure) SVG() ([]byte, error) { return f.render("svg") }

// PNG returns the figure as a PNG image.
func (f Figure) PNG() ([]byte, error) { return f.render("png") }
