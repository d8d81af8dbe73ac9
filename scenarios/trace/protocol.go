package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultMaxDraws bounds the number of pods Protocol.Sample draws.
const DefaultMaxDraws = 10_000_000

// Protocol is the OpenB paper's arrival protocol: pods are drawn from the trace uniformly
// with replacement until the demand that has arrived reaches Target × capacity; they
// arrive one per Interval in drawing order and never depart.
type Protocol struct {
	// Target is the demand to reach as a share of capacity, e.g. 1.3 for 130%.
	Target float64
	// Interval is the gap between arrivals; 1s if 0.
	Interval time.Duration
	// Demand is what one pod adds, in the unit of the capacity; GPUMilli if nil.
	Demand func(*corev1.Pod) int64
	// MaxDraws bounds the draws; DefaultMaxDraws if 0.
	MaxDraws int
}

// Sample draws from pool with r (one IntN per draw) until the summed demand reaches
// Target × capacity, the last draw included. Draw I of pod P is a copy named P-I (I from
// 0) with annotation orrery.dev/trace-id: P, arriving at I × Interval with no departure.
// For the default GPU demand, capacity is GPUCapacity(nodes) × 1000.
func (p Protocol) Sample(pool []Arrival, capacity int64, r *rand.Rand) ([]Arrival, error) {
	if !(p.Target > 0) || math.IsInf(p.Target, 0) {
		return nil, fmt.Errorf("sampling target %v: want a positive share of capacity such as 1.3", p.Target)
	}
	if capacity <= 0 {
		return nil, fmt.Errorf("sampling to %v of capacity %d: want a positive capacity", p.Target, capacity)
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("sampling to %v of capacity: the trace has no pods", p.Target)
	}
	demand := p.Demand
	if demand == nil {
		demand = GPUMilli
	}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	maxDraws := p.MaxDraws
	if maxDraws <= 0 {
		maxDraws = DefaultMaxDraws
	}
	hasDemand := false
	for _, a := range pool {
		if demand(a.Pod) > 0 {
			hasDemand = true
			break
		}
	}
	if !hasDemand {
		return nil, fmt.Errorf("sampling to %v of capacity: %w", p.Target, errNoDemand)
	}
	goal := p.Target * float64(capacity)
	var out []Arrival
	var sum int64
	for i := 0; float64(sum) < goal; i++ {
		if i >= maxDraws {
			return nil, fmt.Errorf("sampling to %v of capacity %d: reached %d draws with %d arrived; raise MaxDraws", p.Target, capacity, maxDraws, sum)
		}
		src := pool[r.IntN(len(pool))].Pod
		pod := src.DeepCopy()
		pod.Name = fmt.Sprintf("%s-%d", src.Name, i)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[AnnotationTraceID] = src.Name
		sum += demand(pod)
		out = append(out, Arrival{At: time.Duration(i) * interval, Pod: pod})
	}
	return out, nil
}
