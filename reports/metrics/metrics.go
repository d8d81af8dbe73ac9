// Package metrics collects a run's metrics in virtual time: quantities sampled every
// interval (pending and unschedulable pods, allocation and usage per resource, nodes in use,
// fragmentation, traffic per Service) and outcomes taken from events as they happen
// (scheduling and pod startup latency, preemptions, evictions, restarts, OOM kills,
// recovery after faults, rollout durations, Job completion times and makespan).
//
// A Collector watches the cluster as any observer of a real cluster does: through informers
// of the API server (as the admin) and the event log, never writing; it changes neither the
// run nor its event log. See reports/README.md for every metric's definition.
package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// DefaultInterval is the sampling interval when none is given (a scenario's
// spec.sampleInterval default).
const DefaultInterval = 5 * time.Second

// DefaultDegradeWindow is how long after a fault a degradation of the workloads is still
// attributed to it.
const DefaultDegradeWindow = 10 * time.Minute

// Point is one sample of a series: virtual time since the start in seconds (T) and the
// value (V), written in JSON as [t, v].
type Point struct {
	T, V float64
}

// MarshalJSON writes the point as [t, v].
func (p Point) MarshalJSON() ([]byte, error) { return json.Marshal([2]float64{p.T, p.V}) }

// UnmarshalJSON reads a point written as [t, v].
func (p *Point) UnmarshalJSON(b []byte) error {
	var a []float64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("point: %w", err)
	}
	if len(a) != 2 {
		return fmt.Errorf("point: want [t, v], got %d numbers", len(a))
	}
	p.T, p.V = a[0], a[1]
	return nil
}

// Series is one quantity sampled over a run.
type Series struct {
	// Name is stable and dotted (pods.pending, allocation.cpu, traffic.default/web.failed);
	// a free-text part is in brackets (pods.unschedulable[Insufficient cpu]).
	Name string `json:"name"`
	// Unit is what the values count (pods, nodes, ratio, cores, requests).
	Unit   string  `json:"unit"`
	Points []Point `json:"points"`
}

// Mean returns the mean of the series' values (0 for an empty series); samples are evenly
// spaced, so this is the time average.
func (s Series) Mean() float64 {
	if len(s.Points) == 0 {
		return 0
	}
	sum := 0.0
	for _, p := range s.Points {
		sum += p.V
	}
	return sum / float64(len(s.Points))
}

// Max returns the largest value of the series (0 for an empty series).
func (s Series) Max() float64 {
	m := 0.0
	for i, p := range s.Points {
		if i == 0 || p.V > m {
			m = p.V
		}
	}
	return m
}

// Distribution summarises durations in seconds: their count, nearest-rank percentiles, max
// and mean, and the values themselves in ascending order (for CDFs).
type Distribution struct {
	Count  int       `json:"count"`
	P50    float64   `json:"p50"`
	P90    float64   `json:"p90"`
	P99    float64   `json:"p99"`
	Max    float64   `json:"max"`
	Mean   float64   `json:"mean"`
	Values []float64 `json:"values,omitempty"`
}

// NewDistribution summarises durations.
func NewDistribution(ds []time.Duration) Distribution {
	d := Distribution{Count: len(ds)}
	if len(ds) == 0 {
		return d
	}
	vs := make([]float64, len(ds))
	sum := 0.0
	for i, x := range ds {
		vs[i] = x.Seconds()
		sum += vs[i]
	}
	sort.Float64s(vs)
	d.Values = vs
	d.P50, d.P90, d.P99 = Quantile(vs, 0.5), Quantile(vs, 0.9), Quantile(vs, 0.99)
	d.Max = vs[len(vs)-1]
	d.Mean = sum / float64(len(vs))
	return d
}

// Quantile returns the nearest-rank q-quantile (0 < q ≤ 1) of ascending values: the
// smallest value with at least q of the values at or below it (0 for none).
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Counts are the run's counted events.
type Counts struct {
	// PreemptionAttempts counts the scheduler's successful preemptions (a victim set chosen
	// and a node nominated); PreemptionVictims the pods it deleted to make room.
	PreemptionAttempts int `json:"preemptionAttempts"`
	PreemptionVictims  int `json:"preemptionVictims"`
	// EvictionsTaint counts pods deleted by the taint eviction controller (NoExecute
	// taints), EvictionsAPI successful Eviction API requests (kubectl drain), and
	// EvictionsKubelet pods the kubelet evicted under node pressure.
	EvictionsTaint   int `json:"evictionsTaint"`
	EvictionsAPI     int `json:"evictionsAPI"`
	EvictionsKubelet int `json:"evictionsKubelet"`
	// Restarts counts container restarts (restartCount increases); OOMKills containers
	// killed for exceeding their memory limit.
	Restarts int `json:"restarts"`
	OOMKills int `json:"oomKills"`
}

// Fault is one fault and the workloads' recovery from it.
type Fault struct {
	// At is when the fault was applied, in seconds from the start.
	At float64 `json:"at"`
	// Kind is the fault kind (NodeCrash, ZoneOutage, ...); Object what it hit.
	Kind   string `json:"kind"`
	Object string `json:"object"`
	// Degraded says whether a Deployment or DaemonSet was below its desired available
	// replicas within the degrade window after the fault.
	Degraded bool `json:"degraded"`
	// Recovered says whether every workload was whole again afterwards; Recovery is how
	// long that took in seconds (0 when the fault degraded nothing).
	Recovered bool    `json:"recovered"`
	Recovery  float64 `json:"recovery"`
}

// Rollout outcomes.
const (
	RolloutComplete   = "complete"
	RolloutFailed     = "failed"
	RolloutSuperseded = "superseded"
	RolloutUnfinished = "unfinished"
)

// Rollout is one Deployment rollout: a new pod template taking over.
type Rollout struct {
	// Deployment is namespace/name.
	Deployment string `json:"deployment"`
	// At is when the new template was observed, in seconds from the start.
	At float64 `json:"at"`
	// Outcome is complete, failed (progress deadline exceeded), superseded (another
	// template came first) or unfinished (the run ended).
	Outcome string `json:"outcome"`
	// Duration is from At to the outcome, in seconds (to the end of the run if unfinished).
	Duration float64 `json:"duration"`
}

// Job outcomes.
const (
	JobComplete = "complete"
	JobFailed   = "failed"
)

// Job is one finished Job.
type Job struct {
	// Name is namespace/name.
	Name string `json:"name"`
	// Created, Started and Finished are seconds from the start of the run: the Job's
	// creation, its status.startTime, and its completionTime (or, when it failed, the
	// time of its Failed condition).
	Created  float64 `json:"created"`
	Started  float64 `json:"started"`
	Finished float64 `json:"finished"`
	// Duration is Finished minus Started, as kubectl's DURATION column.
	Duration float64 `json:"duration"`
	Outcome  string  `json:"outcome"`
}

// Details are the metrics taken from events.
type Details struct {
	// SchedulingLatency is pod creation to binding, over every pod bound.
	SchedulingLatency Distribution `json:"schedulingLatency"`
	// PodStartup is the pod startup latency SLI of sig-scalability: creation to all
	// containers started and observed via watch, less image pulls and init containers,
	// over stateless pods that were schedulable without preemption.
	PodStartup Distribution `json:"podStartup"`
	// PodStartupE2E is creation to all containers started and observed via watch, over
	// every pod, nothing subtracted (kubelet_pod_start_total_duration_seconds).
	PodStartupE2E Distribution `json:"podStartupE2E"`
	Counts        Counts       `json:"counts"`
	Faults        []Fault      `json:"faults"`
	Rollouts      []Rollout    `json:"rollouts"`
	Jobs          []Job        `json:"jobs"`
	// Makespan is the first Job's creation to the last Job's finish, in seconds (0
	// without Jobs).
	Makespan float64 `json:"makespan"`
}

// Results are what a Collector gathered.
type Results struct {
	// Interval is the sampling interval.
	Interval time.Duration
	// Series are the sampled quantities, sorted by name; all share the same sample times.
	Series []Series
	// Details are the metrics taken from events.
	Details Details
}

// Find returns the named series of a list, or nil.
func Find(series []Series, name string) *Series {
	for i := range series {
		if series[i].Name == name {
			return &series[i]
		}
	}
	return nil
}
