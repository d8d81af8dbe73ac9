package synth

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/orrery-sim/orrery/scenarios/trace"
)

// Shape is one kind of pod in a weighted list of request sizes.
type Shape struct {
	// Weight is the shape's relative frequency (non-negative).
	Weight float64
	// CPU and Memory are the requests (and limits); zero leaves a resource out.
	CPU, Memory resource.Quantity
	// GPUMilli is the GPU in thousandths: below 1000 a share of one GPU, else a multiple of
	// 1000 whole GPUs (see trace.SetGPU); 0 is none.
	GPUMilli int64
	// GPUModels restricts the GPU models; empty means any.
	GPUModels []string
}

// Priority is one priority class in a mix.
type Priority struct {
	// Class is the priorityClassName; empty gives the pod none.
	Class string
	// Weight is the class's relative frequency (non-negative).
	Weight float64
}

// Generator describes a synthetic workload.
type Generator struct {
	// Arrivals is the arrival process (required).
	Arrivals Process
	// Count stops after this many pods; Until stops before this time. One at least is
	// required; with both, whichever comes first.
	Count int
	Until time.Duration
	// Shapes is a weighted list of pod sizes; if empty, CPU (millicores) and Memory (MiB)
	// are drawn independently, rounded, and at least 1.
	Shapes      []Shape
	CPU, Memory Dist
	// Lifetime is in seconds; nil means pods stay until the end. A draw below 1ns is 1ns.
	Lifetime Dist
	// Priorities is a weighted mix of priority classes; empty means none.
	Priorities []Priority
	// Pod gives the namespace and image; Prefix names the pods Prefix-0, Prefix-1, …
	// ("pod" if empty); Labels go on every pod.
	Pod    trace.PodOptions
	Prefix string
	Labels map[string]string
}

// MaxPods bounds a generator with only Until, against a rate that would never stop.
const MaxPods = 10_000_000

// Validate reports the first problem of the generator's parameters.
func (g *Generator) Validate() error {
	if g.Arrivals == nil {
		return errors.New("generator: no arrival process")
	}
	if err := g.Arrivals.Validate(); err != nil {
		return fmt.Errorf("generator arrivals: %w", err)
	}
	if g.Count < 0 || g.Until < 0 {
		return fmt.Errorf("generator: count %d and until %v: want neither negative", g.Count, g.Until)
	}
	if g.Count == 0 && g.Until == 0 {
		return errors.New("generator: want a count, an until time, or both")
	}
	if len(g.Shapes) > 0 {
		if g.CPU != nil || g.Memory != nil {
			return errors.New("generator: give either shapes or cpu and memory distributions, not both")
		}
		w := make([]float64, len(g.Shapes))
		for i, s := range g.Shapes {
			w[i] = s.Weight
			if s.CPU.Sign() < 0 || s.Memory.Sign() < 0 {
				return fmt.Errorf("generator shape %d: negative requests", i)
			}
			if s.GPUMilli < 0 || s.GPUMilli > trace.MilliPerGPU && s.GPUMilli%trace.MilliPerGPU != 0 {
				return fmt.Errorf("generator shape %d: GPU %d milli: want a share below 1000 or a multiple of 1000", i, s.GPUMilli)
			}
			for _, m := range s.GPUModels {
				if msgs := validation.IsValidLabelValue(m); len(msgs) > 0 || m == "" {
					return fmt.Errorf("generator shape %d: GPU model %q: want a label value", i, m)
				}
			}
		}
		if err := validWeights("generator shapes", w, len(w)); err != nil {
			return err
		}
	} else {
		if g.CPU == nil || g.Memory == nil {
			return errors.New("generator: want shapes, or both cpu and memory distributions")
		}
		if err := g.CPU.Validate(); err != nil {
			return fmt.Errorf("generator cpu: %w", err)
		}
		if err := g.Memory.Validate(); err != nil {
			return fmt.Errorf("generator memory: %w", err)
		}
	}
	prefix := g.Prefix
	if prefix == "" {
		prefix = "pod"
	}
	if msgs := validation.IsDNS1123Subdomain(prefix + "-0"); len(msgs) > 0 {
		return fmt.Errorf("generator prefix %q: %s", g.Prefix, strings.Join(msgs, "; "))
	}
	for _, k := range slices.Sorted(maps.Keys(g.Labels)) {
		if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(g.Labels[k])...); len(msgs) > 0 {
			return fmt.Errorf("generator label %s=%s: %s", k, g.Labels[k], strings.Join(msgs, "; "))
		}
	}
	if g.Lifetime != nil {
		if err := g.Lifetime.Validate(); err != nil {
			return fmt.Errorf("generator lifetime: %w", err)
		}
	}
	if len(g.Priorities) > 0 {
		w := make([]float64, len(g.Priorities))
		for i, p := range g.Priorities {
			w[i] = p.Weight
		}
		if err := validWeights("generator priorities", w, len(w)); err != nil {
			return err
		}
	}
	return nil
}

func gpuCount(milli int64) int64 {
	switch {
	case milli <= 0:
		return 0
	case milli < trace.MilliPerGPU:
		return 1
	}
	return milli / trace.MilliPerGPU
}

// Generate draws the workload from r. For each pod, in order, it draws the arrival time,
// the size (a shape, or CPU then memory), the lifetime, then the priority class, so a
// seed gives the same pods whatever is done with them.
func (g *Generator) Generate(r *rand.Rand) ([]trace.Arrival, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	prefix := g.Prefix
	if prefix == "" {
		prefix = "pod"
	}
	var shapeW, prioW []float64
	for _, s := range g.Shapes {
		shapeW = append(shapeW, s.Weight)
	}
	for _, p := range g.Priorities {
		prioW = append(prioW, p.Weight)
	}
	next := g.Arrivals.Start(r)
	var out []trace.Arrival
	for i := 0; g.Count == 0 || i < g.Count; i++ {
		if i >= MaxPods {
			return nil, fmt.Errorf("generator: more than %d pods before %v; lower the rate or set a count", MaxPods, g.Until)
		}
		at := next()
		if g.Until > 0 && at >= g.Until {
			break
		}
		pod, err := g.pod(fmt.Sprintf("%s-%d", prefix, i), shapeW, r)
		if err != nil {
			return nil, err
		}
		a := trace.Arrival{At: at, Pod: pod}
		if g.Lifetime != nil {
			a.Lifetime = max(seconds(g.Lifetime.Sample(r)), time.Nanosecond)
		}
		if len(g.Priorities) > 0 {
			pod.Spec.PriorityClassName = g.Priorities[pick(prioW, len(prioW), r)].Class
		}
		out = append(out, a)
	}
	return out, nil
}

// pod draws one pod's size.
func (g *Generator) pod(name string, shapeW []float64, r *rand.Rand) (*corev1.Pod, error) {
	requests := corev1.ResourceList{}
	var s Shape
	if len(g.Shapes) > 0 {
		s = g.Shapes[pick(shapeW, len(shapeW), r)]
		if !s.CPU.IsZero() {
			requests[corev1.ResourceCPU] = s.CPU
		}
		if !s.Memory.IsZero() {
			requests[corev1.ResourceMemory] = s.Memory
		}
	} else {
		cpu := max(math.Round(g.CPU.Sample(r)), 1)
		mem := max(math.Round(g.Memory.Sample(r)), 1)
		requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(min(cpu, 1<<40)), resource.DecimalSI)
		requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(min(mem, 1<<30))<<20, resource.BinarySI)
	}
	pod := trace.NewPod(name, g.Pod, requests)
	if err := trace.SetGPU(pod, gpuCount(s.GPUMilli), min(s.GPUMilli, trace.MilliPerGPU), s.GPUModels); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	if len(g.Labels) > 0 {
		pod.Labels = map[string]string{}
		for k, v := range g.Labels {
			pod.Labels[k] = v
		}
	}
	return pod, nil
}
