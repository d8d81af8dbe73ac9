package fidelity

import (
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"

	"github.com/orrery-sim/orrery/sim/eventlog"
)

// Metric is one figure of both runs (a latency in seconds, or a count).
type Metric struct {
	Name      string
	Sim, Real float64
	// Seconds marks a duration (printed with an "s").
	Seconds bool
}

// Divergence is the relative difference from the simulated figure (0 when both are 0;
// the real figure itself when the simulated one is 0).
func (m Metric) Divergence() float64 {
	if m.Sim == 0 {
		return math.Abs(m.Real)
	}
	return math.Abs(m.Real-m.Sim) / math.Abs(m.Sim)
}

// RestartGap returns the median time from a container's OOM kill to its next start (the
// restart back-off plus the start), in seconds, and how many there were. The median,
// since a node that is down meanwhile makes one gap as long as its outage.
func RestartGap(entries []eventlog.Entry) (float64, int) {
	killed := map[string]float64{}
	var gaps []float64
	for _, e := range entries {
		if !e.IsAction() || e.Resource != "pods" {
			continue
		}
		key := e.Namespace + "/" + e.Name
		switch e.Reason {
		case "OOMKilled":
			killed[key] = e.At.Seconds()
		case "Started":
			if at, ok := killed[key]; ok {
				gaps = append(gaps, e.At.Seconds()-at)
				delete(killed, key)
			}
		}
	}
	if len(gaps) == 0 {
		return 0, 0
	}
	sort.Float64s(gaps)
	return gaps[len(gaps)/2], len(gaps)
}

// WriteMetrics prints the figures of both runs side by side with their divergence.
func WriteMetrics(w io.Writer, ms []Metric) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "METRIC\tSIM\tREAL\tREAL-SIM\tDIVERGENCE\t")
	for _, m := range ms {
		f := func(v float64) string {
			if m.Seconds {
				return fmt.Sprintf("%.3fs", v)
			}
			return fmt.Sprintf("%g", v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f%%\t\n", m.Name, f(m.Sim), f(m.Real), f(m.Real-m.Sim), 100*m.Divergence())
	}
	return tw.Flush()
}
