// Package gpu measures how a run used its GPUs, as Weng et al. (USENIX ATC'23) measure a
// GPU-sharing scheduler: Analyze replays a finished run's trace pods in arrival order and
// gives the GPU allocation ratio as the arrived GPU demand grows, at 1% steps of the
// cluster's GPU capacity, the GPU fragmentation against a target workload's typical pods,
// and the pods that could not be placed.
package gpu

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Measures are a run's outcomes.
type Measures struct {
	// GPUs is the cluster's GPU capacity, in GPUs.
	GPUs int64
	// Arrived, Scheduled and Failed count the protocol's pods: arrived, bound to a node,
	// and left unplaced.
	Arrived, Scheduled, Failed int
	// Alloc[k] is the share of the GPU capacity allocated (0–1) when the GPU demand that
	// arrived first reached k% of the capacity (k = 0…steps; NaN-free: a step the demand
	// never reached repeats the last value).
	Alloc []float64
	// Frag[k] is the GPU fragmentation of the cluster then, in GPUs: the sum over nodes of
	// fgd's measure against the typical pods; FragRatio[k] is Frag over the free GPUs.
	Frag, FragRatio []float64
	// CPUAlloc[k] is the share of the cluster's CPU allocated then.
	CPUAlloc []float64
}

// Unallocated is the GPU capacity not allocated at step k, in GPUs.
func (m *Measures) Unallocated(k int) float64 { return (1 - m.Alloc[k]) * float64(m.GPUs) }

// Analyze computes the measures, at steps 0…steps (in % of the GPU capacity), from the
// nodes and the trace's pods (those with the annotation orrery.dev/trace-id, named P-i for
// the i-th arrival) as the run left them: their node and, for GPU pods, the GPUs of
// alibabacloud.com/gpu-index. Placements are replayed in arrival order (a pod is placed
// when it arrives, or never: the run must be one where nothing departs, as the OpenB
// protocol's).
func Analyze(nodes []*corev1.Node, pods []*corev1.Pod, w *fgd.Workload, steps int) (*Measures, error) {
	type arrival struct {
		i   int
		pod *corev1.Pod
	}
	var arrivals []arrival
	for _, p := range pods {
		if _, ok := p.Annotations["orrery.dev/trace-id"]; !ok {
			continue
		}
		i, err := strconv.Atoi(p.Name[strings.LastIndexByte(p.Name, '-')+1:])
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: want the protocol's name P-i", p.Namespace, p.Name)
		}
		arrivals = append(arrivals, arrival{i, p})
	}
	sort.Slice(arrivals, func(a, b int) bool { return arrivals[a].i < arrivals[b].i })

	views := map[string]*gpushare.Node{}
	var gpus, cpus int64
	for _, n := range nodes {
		v := gpushare.NewNode(framework.NewNodeInfo(n), nil, "")
		views[n.Name] = v
		gpus += int64(v.GPUs())
		cpus += v.CPUCap
	}
	if gpus == 0 {
		return nil, fmt.Errorf("the nodes have no GPUs")
	}
	capacity := gpus * gpushare.MilliPerGPU
	var frag int64 // scaled by the workload's total weight
	for _, v := range views {
		frag += w.FragScaled(v)
	}
	m := &Measures{GPUs: gpus}
	free, arrived, allocated, cpuUsed := capacity, int64(0), int64(0), int64(0)
	record := func() {
		m.Alloc = append(m.Alloc, float64(allocated)/float64(capacity))
		f := float64(frag) / float64(w.TotalWeight()) / float64(gpushare.MilliPerGPU)
		m.Frag = append(m.Frag, f)
		ratio := 0.0
		if free > 0 {
			ratio = f * float64(gpushare.MilliPerGPU) / float64(free)
		}
		m.FragRatio = append(m.FragRatio, ratio)
		m.CPUAlloc = append(m.CPUAlloc, float64(cpuUsed)/float64(cpus))
	}
	for _, a := range arrivals {
		p := a.pod
		r, err := gpushare.RequestOf(p)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		m.Arrived++
		arrived += r.Total()
		if v := views[p.Spec.NodeName]; p.Spec.NodeName != "" {
			if v == nil {
				return nil, fmt.Errorf("pod %s/%s: on unknown node %q", p.Namespace, p.Name, p.Spec.NodeName)
			}
			cpu := framework.NewPodInfo(p).Requests.MilliCPU
			var idx []int
			if !r.None() {
				var ok bool
				if idx, ok, err = gpushare.IndexOf(p); !ok || err != nil {
					return nil, fmt.Errorf("pod %s/%s on %s: no valid %s (%v)", p.Namespace, p.Name, v.Name, gpushare.AnnotationGPUIndex, err)
				}
			}
			before := w.FragScaled(v)
			if !v.Take(r, cpu, idx) {
				return nil, fmt.Errorf("pod %s/%s: GPUs %v of %s do not hold it", p.Namespace, p.Name, idx, v.Name)
			}
			frag += w.FragScaled(v) - before
			m.Scheduled++
			allocated += r.Total()
			free -= r.Total()
			cpuUsed += cpu
		} else {
			m.Failed++
		}
		for len(m.Alloc) <= steps && arrived*100 >= int64(len(m.Alloc))*capacity {
			record()
		}
	}
	for len(m.Alloc) <= steps {
		record()
	}
	return m, nil
}
