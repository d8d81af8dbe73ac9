package noderesources

import (
	"math"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Scoring strategies of NodeResourcesFit, as upstream computes them: per resource a score in
// [0, MaxNodeScore], then the weighted mean over the resources the node has.

// maxUtilization is the utilisation scale of RequestedToCapacityRatio's shape (percent).
const maxUtilization = 100

// maxCustomPriorityScore is the top of the shape's score scale in args; scores are
// multiplied by MaxNodeScore/maxCustomPriorityScore (10) into the scheduler's range.
const maxCustomPriorityScore = 10

// leastRequestedScore is (capacity - requested) * MaxNodeScore / capacity, 0 when the node
// would be over-committed.
func leastRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// mostRequestedScore is requested * MaxNodeScore / capacity, with requested capped at
// capacity (an over-committed node scores MaxNodeScore).
func mostRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	if requested > capacity {
		requested = capacity
	}
	return requested * framework.MaxNodeScore / capacity
}

// shapePoint is one point of RequestedToCapacityRatio's piecewise-linear function, with
// its score already scaled to [0, MaxNodeScore].
type shapePoint struct {
	utilization int64
	score       int64
}

// brokenLinear is upstream's BuildBrokenLinearFunction: the shape's first score up to the
// first point, its last score past the last point, and in between the straight line
// through the two neighbouring points, in integer arithmetic (Go's division truncates
// toward zero, so a falling segment rounds up).
func brokenLinear(shape []shapePoint, p int64) int64 {
	for i := range shape {
		if p <= shape[i].utilization {
			if i == 0 {
				return shape[0].score
			}
			a, b := shape[i-1], shape[i]
			return a.score + (b.score-a.score)*(p-a.utilization)/(b.utilization-a.utilization)
		}
	}
	return shape[len(shape)-1].score
}

// requestedToCapacityRatioScore is the shape at requested*100/capacity (integer), or at 100
// when the node would be over-committed.
func requestedToCapacityRatioScore(shape []shapePoint, requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return brokenLinear(shape, maxUtilization)
	}
	return brokenLinear(shape, requested*maxUtilization/capacity)
}

// score is upstream's resourceAllocationScorer.score followed by the strategy's scorer:
// resources the node lacks (allocatable 0) are skipped; LeastAllocated and MostAllocated
// take the weighted mean with integer division, RequestedToCapacityRatio counts only
// resources scoring above zero and rounds the mean to the nearest integer.
func (f *Fit) score(n *framework.NodeInfo, podRequests []int64) int64 {
	var nodeScore, weightSum int64
	for i := range f.resources {
		r := &f.resources[i]
		alloc, req := allocatableAndRequested(n, r, podRequests[i], false)
		if alloc == 0 {
			continue
		}
		var s int64
		switch f.strategy {
		case strategyMostAllocated:
			s = mostRequestedScore(req, alloc)
		case strategyRequestedToCapacityRatio:
			s = requestedToCapacityRatioScore(f.shape, req, alloc)
			if s <= 0 {
				continue
			}
		default:
			s = leastRequestedScore(req, alloc)
		}
		nodeScore += s * r.weight
		weightSum += r.weight
	}
	if weightSum == 0 {
		return 0
	}
	if f.strategy == strategyRequestedToCapacityRatio {
		return int64(math.Round(float64(nodeScore) / float64(weightSum)))
	}
	return nodeScore / weightSum
}
