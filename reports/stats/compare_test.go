package stats

import (
	"math"
	"testing"

	"github.com/orrery-sim/orrery/reports"
)

func m(name string, v float64) reports.Metric {
	return reports.Metric{Name: name, Unit: "nodes", Value: v, Better: reports.Lower}
}

// TestCompare: two policies on three seeds; the second lacks "b" on its last seed, so its
// sample of "b" has two values and the paired difference pairs seeds 1 and 2 only.
func TestCompare(t *testing.T) {
	runs := [][][]reports.Metric{
		{{m("a", 10), m("b", 1)}, {m("a", 20), m("b", 2)}, {m("a", 30), m("b", 3)}},
		{{m("a", 12), m("b", 4)}, {m("a", 21), m("b", 4)}, {m("a", 33)}},
	}
	tables := Compare([]string{"default", "most-allocated"}, runs)
	if len(tables) != 2 || tables[0].Metric != "a" || tables[1].Metric != "b" {
		t.Fatalf("tables %+v", tables)
	}
	a := tables[0]
	if a.Unit != "nodes" || a.Better != reports.Lower || a.Rows[0].Diff != nil || a.Rows[1].Policy != "most-allocated" {
		t.Fatalf("a: %+v", a)
	}
	// Differences {2,1,3}: mean 2, t = 3.464102 on 2 df, p = .074180 (see TestPairedDiff).
	if d := a.Rows[1].Diff; d.N != 3 || !near(d.Mean, 2) || !near(d.P, 0.074180) {
		t.Errorf("a diff %+v", d)
	}
	if s := a.Rows[0].Summary; !near(s.Mean, 20) || !near(s.SD, 10) {
		t.Errorf("a default %+v", s)
	}
	b := tables[1].Rows[1]
	if b.N != 2 || !near(b.Mean, 4) || !math.IsNaN(b.Values[2]) {
		t.Errorf("b most-allocated %+v", b)
	}
	// Pairs (1,4) and (2,4): differences {3,2}.
	if d := b.Diff; d.N != 2 || !near(d.Mean, 2.5) {
		t.Errorf("b diff %+v", d)
	}
}
