package faults

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// DistKind names a distribution of durations.
type DistKind string

// Distributions of durations.
const (
	// Exponential has mean Mean: memoryless failures, the usual MTBF model.
	Exponential DistKind = "exponential"
	// Fixed is always Mean.
	Fixed DistKind = "fixed"
	// LogNormal has median Mean and shape Sigma: repair times with a long tail.
	LogNormal DistKind = "lognormal"
)

// Dist is a distribution of durations.
type Dist struct {
	Kind  DistKind
	Mean  time.Duration
	Sigma float64
}

// Validate checks the distribution; field names the distribution for the message.
func (d Dist) Validate(field string) []*FieldError {
	var errs []*FieldError
	switch d.Kind {
	case Exponential, Fixed, LogNormal:
	default:
		errs = append(errs, &FieldError{Field: field + ".kind", Detail: fmt.Sprintf("Unsupported value: %q: supported values: %q, %q, %q", d.Kind, Exponential, Fixed, LogNormal)})
	}
	if d.Mean <= 0 {
		errs = append(errs, &FieldError{Field: field + ".mean", Detail: fmt.Sprintf("Invalid value: %v: must be positive", d.Mean)})
	}
	if d.Kind == LogNormal && d.Sigma <= 0 {
		errs = append(errs, &FieldError{Field: field + ".sigma", Detail: fmt.Sprintf("Invalid value: %v: must be positive", d.Sigma)})
	}
	return errs
}

// Draw returns one duration (at least 1 ms, so that a failure and its repair never
// coincide).
func (d Dist) Draw(r *rand.Rand) time.Duration {
	var v float64
	switch d.Kind {
	case Exponential:
		v = r.ExpFloat64() * float64(d.Mean)
	case LogNormal:
		v = float64(d.Mean) * math.Exp(d.Sigma*r.NormFloat64())
	default:
		v = float64(d.Mean)
	}
	if v > float64(math.MaxInt64/2) {
		v = float64(math.MaxInt64 / 2)
	}
	return max(time.Duration(v).Round(time.Millisecond), time.Millisecond)
}

// Random describes random failures: each node alternates between up (MTBF) and failed
// (MTTR), independently; with ZoneMTBF set, each zone also fails as a whole (a
// ZoneOutage lasting ZoneMTTR), which correlates the failures of its nodes.
type Random struct {
	// Kind is what a node failure is: NodeCrash (default), KubeletStop or
	// NetworkPartition.
	Kind Kind
	// Nodes are the nodes that fail (default: every node).
	Nodes []string
	// MTBF and MTTR are a node's time between failures and time to repair.
	MTBF, MTTR Dist
	// ZoneMTBF and ZoneMTTR, when ZoneMTBF.Kind is set, make whole zones fail.
	ZoneMTBF, ZoneMTTR Dist
	// Start and End bound when failures begin (End 0: the run's end).
	Start, End time.Duration
}

// Timed is a fault at a time from the start of the run.
type Timed struct {
	At    time.Duration
	Fault Fault
}

// Validate checks the schedule's description against the cluster.
func (r Random) Validate(t Topology) []*FieldError {
	var errs []*FieldError
	switch r.Kind {
	case "", NodeCrash, KubeletStop, NetworkPartition:
	default:
		errs = append(errs, &FieldError{Field: "kind", Detail: fmt.Sprintf("Unsupported value: %q: supported values: %q, %q, %q", r.Kind, NodeCrash, KubeletStop, NetworkPartition)})
	}
	for i, n := range r.Nodes {
		if !t.HasNode(n) {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("nodes[%d]", i), Detail: fmt.Sprintf("Not found: %q: no such node in the cluster", n)})
		}
	}
	errs = append(errs, r.MTBF.Validate("mtbf")...)
	errs = append(errs, r.MTTR.Validate("mttr")...)
	if r.ZoneMTBF.Kind != "" {
		errs = append(errs, r.ZoneMTBF.Validate("zoneMTBF")...)
		errs = append(errs, r.ZoneMTTR.Validate("zoneMTTR")...)
	}
	if r.Start < 0 || (r.End != 0 && r.End <= r.Start) {
		errs = append(errs, &FieldError{Field: "end", Detail: fmt.Sprintf("Invalid value: %v: must be after start (%v)", r.End, r.Start)})
	}
	return errs
}

// Schedule draws the faults of r over a run of the given length, in time order (ties by
// node name). Each node and zone draws from its own stream (stream(name)), so that adding
// a node does not change the failures of the others. nodes and zones list the cluster's.
func (r Random) Schedule(nodes, zones []string, length time.Duration, stream func(name string) *rand.Rand) []Timed {
	kind := r.Kind
	if kind == "" {
		kind = NodeCrash
	}
	end := r.End
	if end == 0 || end > length {
		end = length
	}
	subjects := r.Nodes
	if len(subjects) == 0 {
		subjects = nodes
	}
	subjects = append([]string(nil), subjects...)
	sort.Strings(subjects)
	var out []Timed
	alternate := func(rng *rand.Rand, up, down Dist, emit func(at, d time.Duration)) {
		for t := r.Start; ; {
			t += up.Draw(rng)
			if t >= end {
				return
			}
			d := down.Draw(rng)
			emit(t, d)
			t += d
		}
	}
	for _, n := range subjects {
		alternate(stream("faults/random/node/"+n), r.MTBF, r.MTTR, func(at, d time.Duration) {
			out = append(out, Timed{At: at, Fault: Fault{Kind: kind, Node: n, For: d}})
		})
	}
	if r.ZoneMTBF.Kind != "" {
		zs := append([]string(nil), zones...)
		sort.Strings(zs)
		for _, z := range zs {
			alternate(stream("faults/random/zone/"+z), r.ZoneMTBF, r.ZoneMTTR, func(at, d time.Duration) {
				out = append(out, Timed{At: at, Fault: Fault{Kind: ZoneOutage, Zone: z, For: d}})
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}
