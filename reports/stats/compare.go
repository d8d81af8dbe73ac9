package stats

import (
	"math"
	"sort"

	"github.com/orrery-sim/orrery/reports"
)

// Table compares policies on one metric.
type Table struct {
	Metric string
	Unit   string
	Better reports.Better
	Rows   []Row
}

// Row is one policy's sample of a metric.
type Row struct {
	Policy string
	// Values holds the metric per seed, in seed order; NaN where a run did not report it.
	Values []float64
	// Summary describes the values that are there.
	Summary
	// Diff is this policy minus the first, over the seeds where both report the metric; nil
	// for the first policy.
	Diff *Paired
}

// Compare builds one Table per metric, sorted by name, from runs[i][j], the metrics of
// policies[i] on the j-th seed (every policy is run on the same seeds, in the same order).
// A metric's unit and direction are taken from its first appearance.
func Compare(policies []string, runs [][][]reports.Metric) []Table {
	type meta struct {
		unit   string
		better reports.Better
	}
	metas := map[string]meta{}
	values := map[string][][]float64{} // metric → policy → seed
	for i := range policies {
		for j, ms := range runs[i] {
			for _, m := range ms {
				if _, ok := metas[m.Name]; !ok {
					metas[m.Name] = meta{m.Unit, m.Better}
					values[m.Name] = nanGrid(len(policies), len(runs[i]))
				}
				if j < len(values[m.Name][i]) {
					values[m.Name][i][j] = m.Value
				}
			}
		}
	}
	names := make([]string, 0, len(metas))
	for n := range metas {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Table, 0, len(names))
	for _, n := range names {
		t := Table{Metric: n, Unit: metas[n].unit, Better: metas[n].better}
		grid := values[n]
		for i, p := range policies {
			row := Row{Policy: p, Values: grid[i], Summary: Describe(present(grid[i]))}
			if i > 0 {
				base, other := pairs(grid[0], grid[i])
				d, _ := PairedDiff(base, other) // same lengths by construction
				row.Diff = &d
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, t)
	}
	return out
}

func nanGrid(rows, cols int) [][]float64 {
	g := make([][]float64, rows)
	for i := range g {
		g[i] = make([]float64, cols)
		for j := range g[i] {
			g[i][j] = math.NaN()
		}
	}
	return g
}

// present returns the values that are not NaN.
func present(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// pairs returns the values of a and b at the indices where both are present.
func pairs(a, b []float64) (pa, pb []float64) {
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			pa, pb = append(pa, a[i]), append(pb, b[i])
		}
	}
	return pa, pb
}
