package reports

import (
	"sort"
	"strings"

	"github.com/orrery-sim/orrery/reports/metrics"
)

// Better says which way a metric improves.
type Better string

// Directions of improvement.
const (
	Lower  Better = "lower"
	Higher Better = "higher"
	// Neither marks a metric that describes a run without ranking it.
	Neither Better = ""
)

// Metric is one scalar outcome of a run, the unit of comparison across policies and seeds
// (orrery compare) and against a baseline (orrery bench).
type Metric struct {
	// Name is stable and dotted (nodes.in-use, traffic.default/web.failed).
	Name string `json:"name"`
	// Unit is what Value counts ("nodes", "requests", "s", "ratio").
	Unit   string  `json:"unit"`
	Value  float64 `json:"value"`
	Better Better  `json:"better,omitempty"`
}

// Metrics returns a run's scalar metrics, sorted by name (reports/README.md lists and
// defines them). Latency and duration figures are left out when there is nothing to
// measure (no pod bound, no rollout complete, ...), so that they never read as zero.
func Metrics(res *Result) []Metric {
	out := []Metric{
		{Name: "nodes.in-use", Unit: "nodes", Value: float64(res.NodesInUse), Better: Lower},
		{Name: "assertions.failed", Unit: "assertions", Value: float64(res.Failed()), Better: Lower},
	}
	add := func(name, unit string, v float64, b Better) {
		out = append(out, Metric{Name: name, Unit: unit, Value: v, Better: b})
	}
	for _, t := range res.Traffic {
		add("traffic."+t.Service+".requests", "requests", float64(t.Requests), Neither)
		add("traffic."+t.Service+".failed", "requests", float64(t.Failed), Lower)
		add("traffic."+t.Service+".availability", "ratio", t.Availability, Higher)
	}
	out = append(out, seriesMetrics(res.Series)...)
	out = append(out, gpuMetrics(res.GPU)...)
	if d := res.Details; d != nil {
		out = append(out, detailMetrics(d)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// seriesMetrics summarises the sampled series: time averages and peaks.
func seriesMetrics(series []metrics.Series) []Metric {
	var out []Metric
	for _, s := range series {
		m := func(suffix string, v float64, b Better) {
			out = append(out, Metric{Name: s.Name + "." + suffix, Unit: s.Unit, Value: v, Better: b})
		}
		switch {
		case s.Name == "nodes.in-use", s.Name == "pods.pending", s.Name == "fragmentation.cpu":
			m("mean", s.Mean(), Lower)
			m("max", s.Max(), Lower)
		case s.Name == "pods.unschedulable":
			m("max", s.Max(), Lower)
		case strings.HasPrefix(s.Name, "allocation."), strings.HasPrefix(s.Name, "usage."):
			m("mean", s.Mean(), Neither)
		case strings.HasPrefix(s.Name, "traffic.") && strings.HasSuffix(s.Name, ".availability"):
			low := 1.0
			for _, p := range s.Points {
				low = min(low, p.V)
			}
			m("min", low, Higher)
		}
	}
	return out
}

// detailMetrics summarises what was taken from events.
func detailMetrics(d *metrics.Details) []Metric {
	var out []Metric
	add := func(name, unit string, v float64, b Better) {
		out = append(out, Metric{Name: name, Unit: unit, Value: v, Better: b})
	}
	dist := func(prefix string, x metrics.Distribution) {
		if x.Count > 0 {
			add(prefix+".p50", "s", x.P50, Lower)
			add(prefix+".p90", "s", x.P90, Lower)
			add(prefix+".p99", "s", x.P99, Lower)
		}
	}
	add("scheduling.pods", "pods", float64(d.SchedulingLatency.Count), Neither)
	dist("scheduling.latency", d.SchedulingLatency)
	add("pod-startup.pods", "pods", float64(d.PodStartup.Count), Neither)
	dist("pod-startup.latency", d.PodStartup)
	dist("pod-startup.e2e", d.PodStartupE2E)
	c := d.Counts
	add("preemption.attempts", "preemptions", float64(c.PreemptionAttempts), Lower)
	add("preemption.victims", "pods", float64(c.PreemptionVictims), Lower)
	add("evictions.taint", "pods", float64(c.EvictionsTaint), Lower)
	add("evictions.api", "pods", float64(c.EvictionsAPI), Lower)
	add("evictions.kubelet", "pods", float64(c.EvictionsKubelet), Lower)
	add("containers.restarts", "restarts", float64(c.Restarts), Lower)
	add("containers.oom-killed", "containers", float64(c.OOMKills), Lower)
	if len(d.Faults) > 0 {
		degraded, unrecovered := 0, 0
		var sum, worst float64
		recovered := 0
		for _, f := range d.Faults {
			switch {
			case f.Degraded && f.Recovered:
				degraded++
				recovered++
				sum += f.Recovery
				worst = max(worst, f.Recovery)
			case f.Degraded:
				degraded++
				unrecovered++
			}
		}
		add("faults.count", "faults", float64(len(d.Faults)), Neither)
		add("faults.degraded", "faults", float64(degraded), Lower)
		add("faults.unrecovered", "faults", float64(unrecovered), Lower)
		if recovered > 0 {
			add("faults.recovery.mean", "s", sum/float64(recovered), Lower)
			add("faults.recovery.max", "s", worst, Lower)
		}
	}
	if len(d.Rollouts) > 0 {
		failed, complete := 0, 0
		var sum, worst float64
		for _, r := range d.Rollouts {
			switch r.Outcome {
			case metrics.RolloutFailed:
				failed++
			case metrics.RolloutComplete:
				complete++
				sum += r.Duration
				worst = max(worst, r.Duration)
			}
		}
		add("rollouts.count", "rollouts", float64(len(d.Rollouts)), Neither)
		add("rollouts.failed", "rollouts", float64(failed), Lower)
		if complete > 0 {
			add("rollouts.duration.mean", "s", sum/float64(complete), Lower)
			add("rollouts.duration.max", "s", worst, Lower)
		}
	}
	if len(d.Jobs) > 0 {
		failed := 0
		var durations []float64
		for _, j := range d.Jobs {
			if j.Outcome == metrics.JobComplete {
				durations = append(durations, j.Duration)
			} else {
				failed++
			}
		}
		add("jobs.complete", "jobs", float64(len(durations)), Higher)
		add("jobs.failed", "jobs", float64(failed), Lower)
		add("jobs.makespan", "s", d.Makespan, Lower)
		if len(durations) > 0 {
			sort.Float64s(durations)
			sum := 0.0
			for _, x := range durations {
				sum += x
			}
			add("jobs.duration.p50", "s", metrics.Quantile(durations, 0.5), Lower)
			add("jobs.duration.mean", "s", sum/float64(len(durations)), Lower)
			add("jobs.duration.max", "s", durations[len(durations)-1], Lower)
		}
	}
	return out
}
