package noderesources

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// BalancedAllocationName is the NodeResourcesBalancedAllocation plugin's name in scheduler
// configurations.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

const balancedAllocationPreScoreStateKey = "PreScore" + BalancedAllocationName

// BalancedAllocation is the NodeResourcesBalancedAllocation plugin: it favours nodes where,
// with the pod placed, the requested fractions of the configured resources are close to
// each other. Weights in its args are accepted but, as upstream, do not enter the score.
type BalancedAllocation struct {
	resources []scoredResource
}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// NewBalancedAllocation is the plugin's factory: args is a
// *configv1.NodeResourcesBalancedAllocationArgs (nil means cpu and memory).
func NewBalancedAllocation(args runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	var typed *configv1.NodeResourcesBalancedAllocationArgs
	if args != nil {
		a, ok := args.(*configv1.NodeResourcesBalancedAllocationArgs)
		if !ok {
			return nil, fmt.Errorf(errWrongArgsFormat, balancedAllocationArgsTypeName, args)
		}
		typed = a
	}
	typed = defaultBalancedAllocationArgs(typed)
	if err := validateResources("resources", typed.Resources); err != nil {
		return nil, fmt.Errorf("%s: %w", BalancedAllocationName, err)
	}
	weights := make([]ResourceWeight, len(typed.Resources))
	for i, r := range typed.Resources {
		weights[i] = ResourceWeight{Name: corev1.ResourceName(r.Name), Weight: r.Weight}
	}
	return &BalancedAllocation{resources: newScoredResources(weights)}, nil
}

// Name returns the plugin's name.
func (ba *BalancedAllocation) Name() string { return BalancedAllocationName }

// balancedPreScoreState is the pod's requests per configured resource; skip marks a pod
// that requests none of them, which upstream leaves unscored.
type balancedPreScoreState struct {
	podRequests []int64
	skip        bool
}

// PreScore computes the pod's requests (without the non-zero defaults) once. A pod that
// requests none of the resources (best-effort) returns Skip, as upstream does so that such
// pods do not all pile onto one node; Score then gives every node 0.
func (ba *BalancedAllocation) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	s, ok := state.Recycled(balancedAllocationPreScoreStateKey).(*balancedPreScoreState)
	if !ok {
		s = &balancedPreScoreState{}
	}
	s.podRequests, s.skip = podRequestList(s.podRequests, &framework.PodInfoOf(state, pod).Requests, ba.resources), true
	for _, r := range s.podRequests {
		if r != 0 {
			s.skip = false
			break
		}
	}
	state.Write(balancedAllocationPreScoreStateKey, s)
	if s.skip {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is (1 - std) * MaxNodeScore, truncated, where std is the standard deviation of the
// requested/allocatable fractions (each capped at 1) of the resources the node has; for
// two resources that is |f1 - f2| / 2. Node requests count without the non-zero defaults.
func (ba *BalancedAllocation) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(balancedAllocationPreScoreStateKey)
	if !ok {
		ba.PreScore(state, pod, nil)
		v, _ = state.Read(balancedAllocationPreScoreStateKey)
	}
	s := v.(*balancedPreScoreState)
	if s.skip {
		return 0, nil
	}
	return ba.score(n, s.podRequests), nil
}

// ScoreNodes is Score over every node of the cycle (framework.NodesScorer).
func (ba *BalancedAllocation) ScoreNodes(state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, scores []framework.NodeScore) *framework.Status {
	v, ok := state.Read(balancedAllocationPreScoreStateKey)
	if !ok {
		ba.PreScore(state, pod, nil)
		v, _ = state.Read(balancedAllocationPreScoreStateKey)
	}
	s := v.(*balancedPreScoreState)
	if s.skip {
		for i := range nodes {
			scores[i].Score = 0
		}
		return nil
	}
	if isCPUMemory(ba.resources) {
		scoreCPUMemoryBalance(nodes, s.podRequests[0], s.podRequests[1], scores)
		return nil
	}
	for i, n := range nodes {
		scores[i].Score = ba.score(n, s.podRequests)
	}
	return nil
}

// scoreCPUMemoryBalance is score for the default resources, cpu and memory, reading the
// node's fields directly: the same float arithmetic (|f1 - f2| / 2 for two fractions, 0
// for one) without the per-resource dispatch.
func scoreCPUMemoryBalance(nodes []*framework.NodeInfo, cpuReq, memReq int64, scores []framework.NodeScore) {
	for i, n := range nodes {
		std := 0.0
		cpuAlloc, memAlloc := n.Allocatable.MilliCPU, n.Allocatable.Memory
		if cpuAlloc != 0 && memAlloc != 0 {
			fc := min(float64(n.Requested.MilliCPU+cpuReq)/float64(cpuAlloc), 1)
			fm := min(float64(n.Requested.Memory+memReq)/float64(memAlloc), 1)
			std = math.Abs((fc - fm) / 2)
		}
		scores[i].Score = int64((1 - std) * float64(framework.MaxNodeScore))
	}
}

func (ba *BalancedAllocation) fraction(n *framework.NodeInfo, i int, podRequests []int64) (float64, bool) {
	alloc, req := allocatableAndRequested(n, &ba.resources[i], podRequests[i], true)
	if alloc == 0 {
		return 0, false
	}
	f := float64(req) / float64(alloc)
	if f > 1 {
		f = 1
	}
	return f, true
}

// score is upstream's balancedResourceScorer, in two passes so that no slice is allocated:
// the first sums the fractions, the second sums the squared deviations in the same order.
func (ba *BalancedAllocation) score(n *framework.NodeInfo, podRequests []int64) int64 {
	var count int
	var total, first, second float64
	for i := range ba.resources {
		f, ok := ba.fraction(n, i, podRequests)
		if !ok {
			continue
		}
		switch count {
		case 0:
			first = f
		case 1:
			second = f
		}
		total += f
		count++
	}
	std := 0.0
	switch {
	case count == 2:
		std = math.Abs((first - second) / 2)
	case count > 2:
		mean := total / float64(count)
		var sum float64
		for i := range ba.resources {
			if f, ok := ba.fraction(n, i, podRequests); ok {
				sum += (f - mean) * (f - mean)
			}
		}
		std = math.Sqrt(sum / float64(count))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}
