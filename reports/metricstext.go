package reports

import (
	"fmt"
	"io"
	"time"

	"github.com/orrery-sim/orrery/reports/metrics"
)

// maxTextFaults is how many faults the text output lists (-o json has them all).
const maxTextFaults = 10

// writeMetrics prints the metrics taken from events in a few lines: latencies, counts,
// each fault's recovery, rollouts and Jobs.
func writeMetrics(w io.Writer, d *metrics.Details) {
	if d == nil {
		return
	}
	secs := func(s float64) string {
		return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
	}
	dist := func(label string, x metrics.Distribution, what string) {
		if x.Count == 0 {
			return
		}
		fmt.Fprintf(w, "  %-22s p50 %s, p90 %s, p99 %s, max %s (%d %s)\n", label, secs(x.P50), secs(x.P90), secs(x.P99), secs(x.Max), x.Count, what)
	}
	fmt.Fprintln(w, "\nMetrics (virtual time; -o json or --out for every metric and time series)")
	dist("scheduling latency", d.SchedulingLatency, "pods bound")
	dist("pod startup (SLI)", d.PodStartup, "pods")
	dist("pod startup (e2e)", d.PodStartupE2E, "pods")
	c := d.Counts
	fmt.Fprintf(w, "  %-22s taint %d, API %d, kubelet %d; preemptions %d (%d victims); restarts %d; OOM kills %d\n",
		"evictions and more", c.EvictionsTaint, c.EvictionsAPI, c.EvictionsKubelet, c.PreemptionAttempts, c.PreemptionVictims, c.Restarts, c.OOMKills)
	for i, f := range d.Faults {
		if i == maxTextFaults {
			fmt.Fprintf(w, "  %-22s … %d more\n", "", len(d.Faults)-maxTextFaults)
			break
		}
		outcome := "degraded nothing"
		switch {
		case f.Recovered:
			outcome = "workloads whole again after " + secs(f.Recovery)
		case f.Degraded:
			outcome = "not recovered by the end"
		}
		fmt.Fprintf(w, "  %-22s %s %s at %s: %s\n", "fault", f.Kind, f.Object, secs(f.At), outcome)
	}
	for _, r := range d.Rollouts {
		fmt.Fprintf(w, "  %-22s %s at %s: %s after %s\n", "rollout", r.Deployment, secs(r.At), r.Outcome, secs(r.Duration))
	}
	if len(d.Jobs) > 0 {
		complete := 0
		for _, j := range d.Jobs {
			if j.Outcome == metrics.JobComplete {
				complete++
			}
		}
		fmt.Fprintf(w, "  %-22s %d finished (%d complete, %d failed), makespan %s\n", "jobs", len(d.Jobs), complete, len(d.Jobs)-complete, secs(d.Makespan))
	}
}
