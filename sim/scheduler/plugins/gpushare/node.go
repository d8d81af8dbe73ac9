package gpushare

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Node is the GPU view of one node: its GPU model, the free thousandths of each GPU by
// index, its free and allocatable millicores, and how many GPU pods of each Kind it runs.
// Views handed out by the plugin are shared: copy before changing one (Clone).
type Node struct {
	Name    string
	Model   string
	CPUCap  int64
	CPUFree int64
	Free    []int64
	// Kinds counts the node's GPU pods by Request.Kind (no "no-gpu" entry).
	Kinds map[string]int
}

// Clone returns a copy whose free lists may be changed.
func (n *Node) Clone() *Node {
	c := *n
	c.Free = append([]int64(nil), n.Free...)
	return &c
}

// GPUs is the number of GPUs.
func (n *Node) GPUs() int { return len(n.Free) }

// TotalFree is the free thousandths over all GPUs.
func (n *Node) TotalFree() int64 {
	var s int64
	for _, f := range n.Free {
		s += f
	}
	return s
}

// FullyFree counts the GPUs nothing holds a share of.
func (n *Node) FullyFree() int {
	c := 0
	for _, f := range n.Free {
		if f == MilliPerGPU {
			c++
		}
	}
	return c
}

// Fits reports whether the GPUs have room for r (model aside): Count GPUs with at least
// Milli free each.
func (n *Node) Fits(r Request) bool {
	if r.None() {
		return true
	}
	c := 0
	for _, f := range n.Free {
		if f >= r.Milli {
			if c++; c >= r.Count {
				return true
			}
		}
	}
	return false
}

// Take gives r's share of the GPUs idx, and its cpu, to a pod; it reports false, changing
// nothing, when a GPU is out of range or has too little free.
func (n *Node) Take(r Request, cpu int64, idx []int) bool {
	if len(idx) != r.Count {
		return false
	}
	for k, g := range idx {
		if g < 0 || g >= len(n.Free) || n.Free[g] < r.Milli {
			return false
		}
		for _, h := range idx[:k] {
			if h == g {
				return false
			}
		}
	}
	for _, g := range idx {
		n.Free[g] -= r.Milli
	}
	n.CPUFree -= cpu
	return true
}

// Chooser picks the GPUs of a node a pod gets: Count distinct indices with at least Milli
// free each, or nil when the node has no room.
type Chooser interface {
	ChooseGPUs(r Request, n *Node) []int
}

// ChooserFunc adapts a function to Chooser.
type ChooserFunc func(r Request, n *Node) []int

// ChooseGPUs calls f.
func (f ChooserFunc) ChooseGPUs(r Request, n *Node) []int { return f(r, n) }

// Exclusive picks, for whole GPUs, the fully free GPUs of lowest index (the artifact's
// AllocateExclusiveGpuId); nil if there are too few.
func Exclusive(r Request, n *Node) []int {
	out := make([]int, 0, r.Count)
	for i, f := range n.Free {
		if len(out) == r.Count {
			break
		}
		if f == MilliPerGPU {
			out = append(out, i)
		}
	}
	if len(out) < r.Count {
		return nil
	}
	return out
}

// BestFit picks, for a share, the GPU with the least free that still fits it (lowest index
// among equals), and for whole GPUs Exclusive: the artifact's default GPU selection
// ("best").
var BestFit = ChooserFunc(func(r Request, n *Node) []int {
	if !r.Share() {
		return Exclusive(r, n)
	}
	best := -1
	for i, f := range n.Free {
		if f >= r.Milli && (best < 0 || f < n.Free[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return []int{best}
})

// WorstFit picks, for a share, the GPU with the most free (lowest index among equals), and
// for whole GPUs Exclusive (the artifact's "worst").
var WorstFit = ChooserFunc(func(r Request, n *Node) []int {
	if !r.Share() {
		return Exclusive(r, n)
	}
	best := -1
	for i, f := range n.Free {
		if f >= r.Milli && (best < 0 || f > n.Free[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return []int{best}
})

// placed is a GPU pod on a node whose GPUs are not known yet.
type placed struct {
	key string
	req Request
}

// Lookup returns the GPUs a pod on the node holds when its annotation does not say (the
// scheduler's reservations), or nil.
type Lookup func(key string, pod *corev1.Pod) []int

// NewNode builds the GPU view of a NodeInfo. GPU pods holding GPUs named by their
// alibabacloud.com/gpu-index annotation, or by lookup, take those (in pod key order);
// then the others, in key order, take GPUs by BestFit, as the artifact re-adds a pod with
// no index. A pod whose GPUs do not fit is left out. The pod under exclude (a key) is
// skipped: Reserve's view of the node without the pod being placed.
func NewNode(ni *framework.NodeInfo, lookup Lookup, exclude string) *Node {
	node := ni.Node
	n := &Node{Name: ni.Name(), CPUCap: ni.Allocatable.MilliCPU, CPUFree: ni.Allocatable.MilliCPU - ni.Requested.MilliCPU}
	if node != nil {
		n.Model = node.Labels[LabelGPUModel]
	}
	gpus := ni.Allocatable.Scalar[ResourceGPU]
	n.Free = make([]int64, gpus)
	for i := range n.Free {
		n.Free[i] = MilliPerGPU
	}
	var unplaced []placed
	for _, pi := range ni.PodList() {
		p := pi.Pod
		key := p.Namespace + "/" + p.Name
		if key == exclude {
			continue
		}
		r, err := RequestOf(p)
		if err != nil || r.None() {
			continue
		}
		if n.Kinds == nil {
			n.Kinds = map[string]int{}
		}
		n.Kinds[r.Kind()]++
		idx, ok, err := IndexOf(p)
		if !ok || err != nil {
			idx = nil
			if lookup != nil {
				idx = lookup(key, p)
			}
		}
		if idx == nil || !n.Take(r, 0, idx) {
			unplaced = append(unplaced, placed{key: key, req: r})
		}
	}
	for _, u := range unplaced {
		if idx := BestFit(u.req, n); idx != nil {
			n.Take(u.req, 0, idx)
		}
	}
	return n
}

// SortedFree returns the free thousandths of the GPUs in ascending order, the indices
// sorted stably (the artifact's SortedMilliGpuLeftIndexList).
func (n *Node) SortedFree() []int {
	idx := make([]int, len(n.Free))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return n.Free[idx[a]] < n.Free[idx[b]] })
	return idx
}
