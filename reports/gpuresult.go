package reports

import (
	"fmt"
	"math"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/reports/gpu"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// GPUResult is how a run used its cluster's GPUs (present when the nodes have any).
type GPUResult struct {
	// GPUs is the cluster's GPU capacity.
	GPUs int64 `json:"gpus"`
	// Allocation is the share of it held by pods bound at the end (0–1).
	Allocation float64 `json:"allocation"`
	// Curve is the allocation as the arrived GPU demand grows, for a run whose one
	// workload is a trace replayed by the OpenB protocol (nothing departs).
	Curve *GPUCurve `json:"curve,omitempty"`
}

// GPUCurve is reports/gpu's analysis of a protocol run: one entry per whole % of the GPU
// capacity that the arrived demand reached, from 0 to the protocol's target.
type GPUCurve struct {
	// Arrived, Scheduled and Unplaced count the trace's pods.
	Arrived   int `json:"arrived"`
	Scheduled int `json:"scheduled"`
	Unplaced  int `json:"unplaced"`
	// Allocation[k] is the share of the GPU capacity allocated when the arrived demand
	// first reached k% of it.
	Allocation []float64 `json:"allocation"`
	// Fragmentation[k] is the cluster's GPU fragmentation then, in GPUs, measured against
	// the typical pods (the most common shapes covering 95% of the trace pods that
	// arrived, as the FGD paper's target workload).
	Fragmentation []float64 `json:"fragmentation"`
	// FragmentationRate[k] is Fragmentation[k] over the GPUs free then (0–1; 0 when none
	// is free).
	FragmentationRate []float64 `json:"fragmentationRate"`
	// CPUAllocation[k] is the share of the cluster's CPU allocated then.
	CPUAllocation []float64 `json:"cpuAllocation"`
}

// gpuResult measures the GPUs of a finished run; nil when the nodes have none.
func gpuResult(s *scenarios.Scenario, nodes []*corev1.Node, pods []*corev1.Pod) (*GPUResult, error) {
	var gpus int64
	for _, n := range nodes {
		gpus += int64(gpushare.NewNode(framework.NewNodeInfo(n), nil, "").GPUs())
	}
	if gpus == 0 {
		return nil, nil
	}
	var held int64
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		r, err := gpushare.RequestOf(p)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		held += r.Total()
	}
	res := &GPUResult{GPUs: gpus, Allocation: float64(held) / float64(gpus*gpushare.MilliPerGPU)}
	steps, ok := protocolSteps(s)
	if !ok {
		return res, nil
	}
	var trace []*corev1.Pod
	for _, p := range pods {
		if _, ok := p.Annotations["orrery.dev/trace-id"]; ok {
			trace = append(trace, p)
		}
	}
	typical, err := fgd.TypicalPods(trace, fgd.DefaultPopularity)
	if err != nil {
		return nil, fmt.Errorf("typical pods of the trace: %w", err)
	}
	w, err := fgd.NewWorkload(typical)
	if err != nil {
		return nil, fmt.Errorf("typical pods of the trace: %w", err)
	}
	m, err := gpu.Analyze(nodes, trace, w, steps)
	if err != nil {
		return nil, err
	}
	res.Curve = &GPUCurve{Arrived: m.Arrived, Scheduled: m.Scheduled, Unplaced: m.Failed, Allocation: m.Alloc, Fragmentation: m.Frag, FragmentationRate: m.FragRatio, CPUAllocation: m.CPUAlloc}
	return res, nil
}

// protocolSteps returns the protocol's target in whole % of the GPU capacity when the
// scenario's only workload is a trace replayed by the protocol.
func protocolSteps(s *scenarios.Scenario) (int, bool) {
	if s == nil || len(s.Spec.Workloads) != 1 {
		return 0, false
	}
	t := s.Spec.Workloads[0].Trace
	if t == nil || t.Protocol == nil || t.Protocol.Target <= 0 {
		return 0, false
	}
	return int(math.Round(t.Protocol.Target * 100)), true
}

// gpuMetrics are the GPU figures of a run: with a protocol curve, the allocation when
// the arrived demand reached 100% and the target (in %), the unallocated GPUs, the
// fragmentation (in GPUs, and in % of the free GPUs), the CPU allocation and the pods left
// unplaced at the end; otherwise the allocation at the end and the unallocated GPUs.
func gpuMetrics(g *GPUResult) []Metric {
	if g == nil {
		return nil
	}
	unallocated := (1 - g.Allocation) * float64(g.GPUs)
	out := []Metric{{Name: "gpu.unallocated", Unit: "GPUs", Value: unallocated, Better: Lower}}
	c := g.Curve
	if c == nil || len(c.Allocation) == 0 {
		return append(out, Metric{Name: "gpu.allocation", Unit: "%", Value: 100 * g.Allocation, Better: Higher})
	}
	last := len(c.Allocation) - 1
	steps := []int{last}
	if last > 100 {
		steps = []int{100, last}
	}
	for _, k := range steps {
		out = append(out, Metric{Name: "gpu.allocation.arrived-" + strconv.Itoa(k), Unit: "%", Value: 100 * c.Allocation[k], Better: Higher})
	}
	return append(out,
		Metric{Name: "gpu.fragmentation", Unit: "GPUs", Value: c.Fragmentation[last], Better: Lower},
		Metric{Name: "gpu.fragmentation.rate", Unit: "%", Value: 100 * c.FragmentationRate[last], Better: Lower},
		Metric{Name: "gpu.cpu-allocation", Unit: "%", Value: 100 * c.CPUAllocation[last], Better: Neither},
		Metric{Name: "gpu.pods.unplaced", Unit: "pods", Value: float64(c.Unplaced), Better: Lower})
}
