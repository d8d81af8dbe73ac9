package podtopologyspread

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

const preScoreStateKey = "PreScore" + Name

// invalidScore marks ignored nodes during normalisation.
const invalidScore = -1

// preScoreState is computed by PreScore and read by Score and NormalizeScore.
type preScoreState struct {
	constraints []topologySpreadConstraint
	// ignoredNodes lack some constraint's topology key; they score 0.
	ignoredNodes map[string]bool
	// topologyValueToPodCounts counts matching pods per constraint and topology value
	// (hostname constraints are counted per node in Score).
	topologyValueToPodCounts []map[string]*int64
	// topologyNormalizingWeight is log(domains+2) per constraint, so that counts in small
	// topologies are not watered down by big ones.
	topologyNormalizingWeight []float64
}

// initPreScoreState sets, for s.constraints, the ignored nodes, the domains of the
// filtered nodes and the weights.
func (pl *PodTopologySpread) initPreScoreState(s *preScoreState, filtered []*framework.NodeInfo, requireAllTopologies bool) {
	s.topologyValueToPodCounts = make([]map[string]*int64, len(s.constraints))
	for i := range s.topologyValueToPodCounts {
		s.topologyValueToPodCounts[i] = map[string]*int64{}
	}
	topoSize := make([]int, len(s.constraints))
	for _, ni := range filtered {
		node := ni.Node
		if requireAllTopologies && !nodeLabelsMatchSpreadConstraints(node.Labels, s.constraints) {
			s.ignoredNodes[node.Name] = true
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			if c.TopologyKey == corev1.LabelHostname {
				continue
			}
			v := node.Labels[c.TopologyKey]
			if s.topologyValueToPodCounts[i][v] == nil {
				s.topologyValueToPodCounts[i][v] = new(int64)
				topoSize[i]++
			}
		}
	}
	s.topologyNormalizingWeight = make([]float64, len(s.constraints))
	for i := range s.constraints {
		sz := topoSize[i]
		if s.constraints[i].TopologyKey == corev1.LabelHostname {
			sz = len(filtered) - len(s.ignoredNodes)
		}
		s.topologyNormalizingWeight[i] = topologyNormalizingWeight(sz)
	}
}

// PreScore counts, per ScheduleAnyway constraint and topology value of the filtered
// nodes, the matching pods on all eligible nodes.
func (pl *PodTopologySpread) PreScore(state *framework.CycleState, pod *corev1.Pod, filtered []*framework.NodeInfo) *framework.Status {
	all := pl.h.NodeInfos()
	if len(all) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	constraints, err := pl.getConstraints(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.NewStatus(framework.Error, fmt.Sprintf("calculating preScoreState: %v", err))
	}
	if len(constraints) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{constraints: constraints, ignoredNodes: map[string]bool{}}
	// Only non-system-default rules require nodes to have every topology key, so that
	// nodes without a zone label still get hostname spreading.
	requireAllTopologies := len(pod.Spec.TopologySpreadConstraints) > 0 || !pl.systemDefaulted
	pl.initPreScoreState(s, filtered, requireAllTopologies)
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	for _, ni := range all {
		node := ni.Node
		if node == nil {
			continue
		}
		if requireAllTopologies && !nodeLabelsMatchSpreadConstraints(node.Labels, s.constraints) {
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			if !c.matchNodeInclusionPolicies(pod, node, required) {
				continue
			}
			cnt := s.topologyValueToPodCounts[i][node.Labels[c.TopologyKey]]
			if cnt == nil {
				continue
			}
			*cnt += int64(countPodsMatchSelector(ni.PodList(), c.Selector, pod.Namespace))
		}
	}
	state.Write(preScoreStateKey, s)
	return nil
}

// Score sums, over the constraints, the node's domain count times the constraint's weight
// plus maxSkew-1, rounded; fewer is better. Without state (PreScore skipped) it is 0.
func (pl *PodTopologySpread) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s := getPreScoreState(state)
	node := ni.Node
	if s == nil || node == nil || s.ignoredNodes[node.Name] {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == corev1.LabelHostname {
			cnt = int64(countPodsMatchSelector(ni.PodList(), c.Selector, pod.Namespace))
		} else if p := s.topologyValueToPodCounts[i][v]; p != nil {
			cnt = *p
		}
		score += scoreForCount(cnt, c.MaxSkew, s.topologyNormalizingWeight[i])
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore reverses the scores onto [0, MaxNodeScore]: MaxNodeScore *
// (max + min - score) / max, ignored nodes 0.
func (pl *PodTopologySpread) NormalizeScore(state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s := getPreScoreState(state)
	if s == nil {
		return nil
	}
	var minScore int64 = math.MaxInt64
	var maxScore int64
	for i := range scores {
		if s.ignoredNodes[scores[i].Name] {
			scores[i].Score = invalidScore
			continue
		}
		if scores[i].Score < minScore {
			minScore = scores[i].Score
		}
		if scores[i].Score > maxScore {
			maxScore = scores[i].Score
		}
	}
	for i := range scores {
		if scores[i].Score == invalidScore {
			scores[i].Score = 0
			continue
		}
		if maxScore == 0 {
			scores[i].Score = framework.MaxNodeScore
			continue
		}
		scores[i].Score = framework.MaxNodeScore * (maxScore + minScore - scores[i].Score) / maxScore
	}
	return nil
}

func getPreScoreState(state *framework.CycleState) *preScoreState {
	v, ok := state.Read(preScoreStateKey)
	if !ok {
		return nil
	}
	s, _ := v.(*preScoreState)
	return s
}

// topologyNormalizingWeight is log(size+2), upstream's weight of a topology of size
// domains.
func topologyNormalizingWeight(size int) float64 {
	return math.Log(float64(size + 2))
}

// scoreForCount is cnt*weight + maxSkew-1: adding maxSkew-1 waters down the differences
// between domains, so larger maxSkew tolerates more skew.
func scoreForCount(cnt int64, maxSkew int32, tpWeight float64) float64 {
	return float64(cnt)*tpWeight + float64(maxSkew-1)
}
