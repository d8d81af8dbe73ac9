package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Arrival is one pod arriving in the cluster.
type Arrival struct {
	// At is when the pod is created, from the start of the run.
	At time.Duration
	// Pod is the pod to create; it carries no node binding.
	Pod *corev1.Pod
	// Lifetime is how long after At the pod is deleted; 0 means it stays until the end.
	Lifetime time.Duration
}

// Departure returns when the pod is deleted and whether it is at all.
func (a Arrival) Departure() (time.Duration, bool) {
	if a.Lifetime <= 0 {
		return 0, false
	}
	return a.At + a.Lifetime, true
}

// Workload is an imported trace: the nodes it describes (if any) and its arrivals in
// arrival order.
type Workload struct {
	// Nodes are the trace's machines as Node objects, in file order; empty when the trace
	// has none.
	Nodes []*corev1.Node
	// Arrivals are sorted by At, ties by namespace and name.
	Arrivals []Arrival
}

// Sort orders arrivals by time, ties by pod namespace and name, in place.
func Sort(arrivals []Arrival) {
	sort.SliceStable(arrivals, func(i, j int) bool {
		a, b := arrivals[i], arrivals[j]
		if a.At != b.At {
			return a.At < b.At
		}
		if a.Pod.Namespace != b.Pod.Namespace {
			return a.Pod.Namespace < b.Pod.Namespace
		}
		return a.Pod.Name < b.Pod.Name
	})
}

// ScaleTime multiplies every arrival time and lifetime by factor (0.5 replays the trace
// twice as fast); a lifetime never scales below 1ns, so a pod that departs still does.
func ScaleTime(arrivals []Arrival, factor float64) ([]Arrival, error) {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return nil, fmt.Errorf("time scale %v: want a positive finite factor", factor)
	}
	out := make([]Arrival, len(arrivals))
	for i, a := range arrivals {
		a.At = scaleDuration(a.At, factor)
		if a.Lifetime > 0 {
			a.Lifetime = max(scaleDuration(a.Lifetime, factor), time.Nanosecond)
		}
		out[i] = a
	}
	return out, nil
}

func scaleDuration(d time.Duration, f float64) time.Duration {
	v := math.Round(float64(d) * f)
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}

// Sample keeps each arrival with probability fraction, drawing once per arrival in order
// from r; fraction 1 keeps all and draws nothing.
func Sample(arrivals []Arrival, fraction float64, r *rand.Rand) ([]Arrival, error) {
	if !(fraction > 0 && fraction <= 1) {
		return nil, fmt.Errorf("sample fraction %v: want a value in (0, 1]", fraction)
	}
	if fraction == 1 {
		return append([]Arrival(nil), arrivals...), nil
	}
	var out []Arrival
	for _, a := range arrivals {
		if r.Float64() < fraction {
			out = append(out, a)
		}
	}
	return out, nil
}

// Inflate adds ceil(n×ratio)−n clones of arrivals picked uniformly with replacement from
// r, as the OpenB paper's simulator inflates a workload (WorkloadInflationRatio). A clone
// of pod P is named P-clone-I (I counting from 0), is annotated orrery.dev/trace-id: P,
// and keeps P's arrival time and lifetime.
// The result is sorted.
func Inflate(arrivals []Arrival, ratio float64, r *rand.Rand) ([]Arrival, error) {
	if !(ratio >= 1) || math.IsInf(ratio, 0) {
		return nil, fmt.Errorf("inflation ratio %v: want a finite ratio of at least 1", ratio)
	}
	n := len(arrivals)
	out := append([]Arrival(nil), arrivals...)
	if n == 0 {
		return out, nil
	}
	extra := int(math.Ceil(float64(n)*ratio)) - n
	for i := range extra {
		src := arrivals[r.IntN(n)]
		pod := src.Pod.DeepCopy()
		pod.Name = fmt.Sprintf("%s-clone-%d", src.Pod.Name, i)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[AnnotationTraceID] = src.Pod.Name
		out = append(out, Arrival{At: src.At, Pod: pod, Lifetime: src.Lifetime})
	}
	Sort(out)
	return out, nil
}

// Transform is the usual chain of trace transformations; zero fields leave the trace as
// it is.
type Transform struct {
	// Sample keeps each arrival with this probability (0 or 1: all).
	Sample float64
	// Inflate adds clones until there are ceil(n×Inflate) arrivals (0 or 1: none).
	Inflate float64
	// TimeScale multiplies arrival times and lifetimes (0 or 1: unchanged).
	TimeScale float64
}

// Apply samples, then inflates, then scales time, and returns the arrivals sorted; r is
// used only by the steps that draw.
func (t Transform) Apply(arrivals []Arrival, r *rand.Rand) ([]Arrival, error) {
	out := arrivals
	var err error
	if t.Sample != 0 && t.Sample != 1 {
		if out, err = Sample(out, t.Sample, r); err != nil {
			return nil, err
		}
	}
	if t.Inflate != 0 && t.Inflate != 1 {
		if out, err = Inflate(out, t.Inflate, r); err != nil {
			return nil, err
		}
	}
	if t.TimeScale != 0 && t.TimeScale != 1 {
		if out, err = ScaleTime(out, t.TimeScale); err != nil {
			return nil, err
		}
	}
	out = append([]Arrival(nil), out...)
	Sort(out)
	return out, nil
}
