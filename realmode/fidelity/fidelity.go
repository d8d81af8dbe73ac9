// Package fidelity compares a real-mode run with its simulated twin: the component
// actions of both event logs (Scheduled, Started, OOMKilled, NodeNotReady, ...) are
// matched by type, object and occurrence, and each type's times in the simulation and for
// real are put side by side with their difference.
package fidelity

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orrery-sim/orrery/sim/eventlog"
)

// A matched pair agrees when its real time is within Relative of its simulated time (since
// the start), or within Absolute of it.
const (
	Relative = 0.2
	Absolute = 500 * time.Millisecond
)

// generated is the alphabet of the suffixes the API server and controllers generate
// (generateName, pod-template-hash).
const generated = "bcdfghjklmnpqrstvwxz2456789"

// Group returns the name an object is matched by: its name without the generated
// suffixes (a ReplicaSet's pod-template-hash, generateName's random part), so that the
// pods of one workload are matched across runs whatever their names.
func Group(name string) string {
	parts := strings.Split(name, "-")
	for len(parts) > 1 {
		last := parts[len(parts)-1]
		if len(last) < 5 || strings.Trim(last, generated) != "" {
			break
		}
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "-")
}

// Pair is one action matched in both runs.
type Pair struct {
	// Reason is the action's type; Object its resource and group.
	Reason, Object string
	// Sim and Real are when it happened in each run.
	Sim, Real time.Duration
}

// Agrees reports whether the pair is within the tolerance.
func (p Pair) Agrees() bool {
	d := (p.Real - p.Sim).Abs()
	return d <= Absolute || float64(d) <= Relative*float64(p.Sim)
}

// Row is one action type's comparison.
type Row struct {
	Reason string
	// Sim and Real count the occurrences in each run; Matched those in both.
	Sim, Real, Matched int
	// SimMean and RealMean are the mean times of the matched occurrences.
	SimMean, RealMean time.Duration
	// MeanDiff is the mean of real minus simulated time; MaxAbsDiff the largest gap.
	MeanDiff, MaxAbsDiff time.Duration
	// Agree counts the matched occurrences within the tolerance.
	Agree int
	first time.Duration
}

// Divergence is the row's relative difference: the larger of the gap between the mean
// times (relative to the simulated mean) and the gap between the counts.
func (r Row) Divergence() float64 {
	d := 0.0
	if r.SimMean > 0 {
		d = math.Abs(float64(r.RealMean-r.SimMean)) / float64(r.SimMean)
	}
	if n := max(r.Sim, r.Real); n > 0 {
		d = max(d, math.Abs(float64(r.Real-r.Sim))/float64(n))
	}
	return d
}

// Report is the comparison of two runs.
type Report struct {
	// Rows are the action types, by first occurrence.
	Rows []Row
	// Pairs are the matched occurrences, by simulated time.
	Pairs []Pair
	// Agreement is the share of all occurrences (the larger count of each type) that were
	// matched and agree.
	Agreement float64
}

// key groups occurrences of one type on one workload.
type key struct{ reason, object string }

// Compare matches the actions of a simulated and a real run: the k-th occurrence of a
// type on a group of objects in one with the k-th in the other.
func Compare(sim, real []eventlog.Entry) Report {
	occ := func(entries []eventlog.Entry) map[key][]time.Duration {
		out := map[key][]time.Duration{}
		for _, e := range entries {
			if !e.IsAction() {
				continue
			}
			k := key{e.Reason, e.Resource + "/" + e.Namespace + "/" + Group(e.Name)}
			out[k] = append(out[k], e.At)
		}
		return out
	}
	s, r := occ(sim), occ(real)
	keys := map[key]bool{}
	for k := range s {
		keys[k] = true
	}
	for k := range r {
		keys[k] = true
	}
	rows := map[string]*Row{}
	var rep Report
	total, agree := 0, 0
	for k := range keys {
		row := rows[k.reason]
		if row == nil {
			row = &Row{Reason: k.reason, first: time.Duration(math.MaxInt64)}
			rows[k.reason] = row
		}
		a, b := s[k], r[k]
		row.Sim += len(a)
		row.Real += len(b)
		total += max(len(a), len(b))
		for _, t := range append(append([]time.Duration(nil), a...), b...) {
			row.first = min(row.first, t)
		}
		for i := 0; i < len(a) && i < len(b); i++ {
			p := Pair{Reason: k.reason, Object: k.object, Sim: a[i], Real: b[i]}
			rep.Pairs = append(rep.Pairs, p)
			row.Matched++
			row.SimMean += a[i]
			row.RealMean += b[i]
			row.MeanDiff += b[i] - a[i]
			row.MaxAbsDiff = max(row.MaxAbsDiff, (b[i] - a[i]).Abs())
			if p.Agrees() {
				row.Agree++
				agree++
			}
		}
	}
	for _, row := range rows {
		if row.Matched > 0 {
			n := time.Duration(row.Matched)
			row.SimMean, row.RealMean, row.MeanDiff = row.SimMean/n, row.RealMean/n, row.MeanDiff/n
		}
		rep.Rows = append(rep.Rows, *row)
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		if rep.Rows[i].first != rep.Rows[j].first {
			return rep.Rows[i].first < rep.Rows[j].first
		}
		return rep.Rows[i].Reason < rep.Rows[j].Reason
	})
	sort.Slice(rep.Pairs, func(i, j int) bool {
		a, b := rep.Pairs[i], rep.Pairs[j]
		if a.Sim != b.Sim {
			return a.Sim < b.Sim
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Object < b.Object
	})
	if total > 0 {
		rep.Agreement = float64(agree) / float64(total)
	}
	return rep
}

// Write prints the report: one line per action type (counts, mean times, mean and largest
// difference, agreeing share, divergence), then the overall agreement.
func (rep Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "EVENT\tSIM\tREAL\tSIM AT (mean)\tREAL AT (mean)\tREAL-SIM (mean)\t|MAX|\tAGREE\tDIVERGENCE\t")
	for _, r := range rep.Rows {
		at := func(d time.Duration) string {
			if r.Matched == 0 {
				return "-"
			}
			return round(d).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%.0f%%\t\n", r.Reason, r.Sim, r.Real, at(r.SimMean), at(r.RealMean), at(r.MeanDiff), at(r.MaxAbsDiff), r.Agree, max(r.Sim, r.Real), 100*r.Divergence())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "Agreement: %.0f%% of %d events within %.0f%% or %v of their simulated time\n", 100*rep.Agreement, rep.total(), 100*Relative, Absolute)
	return err
}

func (rep Report) total() int {
	n := 0
	for _, r := range rep.Rows {
		n += max(r.Sim, r.Real)
	}
	return n
}

// round shortens a duration for the table (milliseconds).
func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
