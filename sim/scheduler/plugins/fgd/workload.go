// Package fgd is Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation:
// Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23):
// the FGDScore plugin places a pod on the node, and the GPU of the node, where the GPU
// fragmentation measured against the target workload grows least. The fragmentation
// measure (Frag) is exported for reports.
package fgd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// TypicalPod is one pod shape of the target workload and how many of its pods have it.
type TypicalPod struct {
	// CPU is in millicores (the scheduler's non-zero request: 100 when a container asks
	// for none).
	CPU int64 `json:"cpu"`
	// GPUMilli is the share of each GPU in thousandths (1000 for whole GPUs, 0 for none).
	GPUMilli int64 `json:"gpuMilli"`
	// GPUCount is the number of GPUs (1 for a share, 0 for none).
	GPUCount int `json:"gpuCount"`
	// Model lists the allowed GPU models separated by "|" (empty: any).
	Model string `json:"model,omitempty"`
	// Weight is how many pods of the workload have this shape (its popularity is
	// Weight over the sum of the weights).
	Weight int64 `json:"weight"`
}

type shape struct {
	TypicalPod
	req gpushare.Request
}

// Workload is a target workload compiled for measuring fragmentation: its typical pods
// with their weights, and a memo of the fragmentation of node states already seen.
type Workload struct {
	shapes []shape
	total  int64
	// cuts are the distinct CPU requests of the shapes, ascending: a node's free CPU
	// matters to the measure only through how many of them it covers.
	cuts []int64
	memo map[stateKey]int64
}

// maxMemo bounds the memo; it is cleared when full (values are exact, so results do not
// depend on it).
const maxMemo = 1 << 20

// maxMemoGPUs is the most GPUs a node may have for its state to be memoised.
const maxMemoGPUs = 16

type stateKey struct {
	model string
	cpu   int32
	n     uint8
	free  [maxMemoGPUs]uint16
}

// NewWorkload checks and compiles typical pods: at least one, each with a positive
// weight, a GPU request as pods express it (a share of one GPU, or whole GPUs).
func NewWorkload(pods []TypicalPod) (*Workload, error) {
	if len(pods) == 0 {
		return nil, fmt.Errorf("typicalPods: want at least one pod shape")
	}
	w := &Workload{memo: map[stateKey]int64{}}
	cuts := map[int64]bool{}
	for i, p := range pods {
		field := fmt.Sprintf("typicalPods[%d]", i)
		switch {
		case p.Weight <= 0:
			return nil, fmt.Errorf("%s.weight: Invalid value: %d: must be positive", field, p.Weight)
		case p.CPU < 0:
			return nil, fmt.Errorf("%s.cpu: Invalid value: %d: must not be negative", field, p.CPU)
		case p.GPUCount < 0 || p.GPUMilli < 0 || p.GPUMilli > gpushare.MilliPerGPU || (p.GPUCount == 0) != (p.GPUMilli == 0):
			return nil, fmt.Errorf("%s: Invalid value: %d GPUs of %d thousandths: want none, a share of one GPU, or whole GPUs", field, p.GPUCount, p.GPUMilli)
		case p.GPUCount > 1 && p.GPUMilli != gpushare.MilliPerGPU:
			return nil, fmt.Errorf("%s: Invalid value: %d GPUs of %d thousandths: a share is of one GPU only", field, p.GPUCount, p.GPUMilli)
		}
		s := shape{TypicalPod: p, req: gpushare.Request{Count: p.GPUCount, Milli: p.GPUMilli, ModelSpec: p.Model}}
		for _, m := range strings.Split(p.Model, "|") {
			if m = strings.TrimSpace(m); m != "" {
				s.req.Models = append(s.req.Models, m)
			}
		}
		w.shapes = append(w.shapes, s)
		w.total += p.Weight
		cuts[p.CPU] = true
	}
	for c := range cuts {
		w.cuts = append(w.cuts, c)
	}
	sort.Slice(w.cuts, func(i, j int) bool { return w.cuts[i] < w.cuts[j] })
	return w, nil
}

// Pods returns the typical pods, in the order given.
func (w *Workload) Pods() []TypicalPod {
	out := make([]TypicalPod, len(w.shapes))
	for i, s := range w.shapes {
		out[i] = s.TypicalPod
	}
	return out
}

// TotalWeight is the sum of the typical pods' weights.
func (w *Workload) TotalWeight() int64 { return w.total }

// Frag is the GPU fragmentation of a node against the workload, in thousandths of a GPU:
// the expectation, over the workload's pod shapes by popularity, of the node's free GPU
// thousandths that a pod of that shape could not use. For a shape that cannot run on the
// node at all — it asks for no GPU, its GPU model is not the node's, the node lacks its
// CPU, or fewer than its count of GPUs have its share free — every free thousandth is a
// fragment; otherwise the fragments are the GPUs with less free than its share (the
// paper's §4, the artifact's NodeGpuShareFragAmount).
func (w *Workload) Frag(n *gpushare.Node) float64 {
	return float64(w.FragScaled(n)) / float64(w.total)
}

// FragScaled is Frag times the total weight: an exact integer.
func (w *Workload) FragScaled(n *gpushare.Node) int64 {
	return w.frag(n.Model, n.CPUFree, n.Free)
}

func (w *Workload) frag(model string, cpuFree int64, free []int64) int64 {
	if len(free) == 0 {
		return 0
	}
	var key stateKey
	memo := len(free) <= maxMemoGPUs
	if memo {
		key.model = model
		key.cpu = int32(sort.Search(len(w.cuts), func(i int) bool { return w.cuts[i] > cpuFree }))
		key.n = uint8(len(free))
		for i, f := range free {
			// Insertion sort: the measure depends on the multiset of free shares only.
			v := uint16(f)
			j := i
			for j > 0 && key.free[j-1] > v {
				key.free[j] = key.free[j-1]
				j--
			}
			key.free[j] = v
		}
		if v, ok := w.memo[key]; ok {
			return v
		}
	}
	var total int64
	for _, f := range free {
		total += f
	}
	var sum int64
	for i := range w.shapes {
		s := &w.shapes[i]
		f := total
		if s.req.Count > 0 && s.req.Allows(model) && cpuFree >= s.CPU {
			fit, frag := 0, int64(0)
			for _, g := range free {
				if g >= s.req.Milli {
					fit++
				} else {
					frag += g
				}
			}
			if fit >= s.req.Count {
				f = frag
			}
		}
		sum += s.Weight * f
	}
	if memo {
		if len(w.memo) >= maxMemo {
			clear(w.memo)
		}
		w.memo[key] = sum
	}
	return sum
}
