// Package policies holds score plugins from the scheduling literature — Random, FirstFit,
// BestFit, WorstFit and DotProduct (Tetris) — for comparing placement policies on the same
// workload. Each is an ordinary framework.ScorePlugin, enabled by name in a profile.
package policies

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Registry returns the policies' factories by the names scheduler configurations use.
func Registry() framework.Registry {
	return framework.Registry{
		RandomName:     NewRandom,
		FirstFitName:   NewFirstFit,
		BestFitName:    NewBestFit,
		WorstFitName:   NewWorstFit,
		DotProductName: NewDotProduct,
	}
}

// podRequests returns the pod's requests, computed once per cycle by PreScore under key, or
// now if PreScore did not run.
func podRequests(state *framework.CycleState, key string, pod *corev1.Pod) *framework.PodInfo {
	if state != nil {
		if v, ok := state.Read(key); ok {
			if pi, ok := v.(*framework.PodInfo); ok && pi.Pod == pod {
				return pi
			}
		}
	}
	return framework.NewPodInfo(pod)
}

// dimension is one resource of the vectors the fit policies compare: the node's allocatable,
// what its pods already request, and what the pod requests.
type dimension struct {
	name                       corev1.ResourceName
	allocatable, used, request int64
}

// dimensions returns the resources the fit policies score, in a fixed order: cpu, memory,
// then every extended resource the pod requests, by name. A resource the node has none of
// is left out (the Fit filter has already rejected the node if the pod needs it). Requests
// count with the scheduler's non-zero defaults for cpu and memory, as upstream scores them.
func dimensions(pi *framework.PodInfo, n *framework.NodeInfo) []dimension {
	req := &pi.NonZero
	out := make([]dimension, 0, 2+len(req.Scalar))
	add := func(name corev1.ResourceName, alloc, used, r int64) {
		if alloc > 0 {
			out = append(out, dimension{name, alloc, used, r})
		}
	}
	add(corev1.ResourceCPU, n.Allocatable.MilliCPU, n.NonZeroRequested.MilliCPU, req.MilliCPU)
	add(corev1.ResourceMemory, n.Allocatable.Memory, n.NonZeroRequested.Memory, req.Memory)
	for _, name := range sortedNames(req.Scalar) {
		if r := req.Scalar[name]; r > 0 {
			add(name, n.Allocatable.Scalar[name], n.Requested.Scalar[name], r)
		}
	}
	return out
}

// freeShareAfter is the mean, over the dimensions, of the share of allocatable left free
// once the pod is placed, in [0, MaxNodeScore] (each share floored, then the mean floored).
func freeShareAfter(dims []dimension) int64 {
	if len(dims) == 0 {
		return 0
	}
	var sum int64
	for _, d := range dims {
		free := d.allocatable - d.used - d.request
		if free < 0 {
			free = 0
		}
		sum += free * framework.MaxNodeScore / d.allocatable
	}
	return sum / int64(len(dims))
}

func sortedNames(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
