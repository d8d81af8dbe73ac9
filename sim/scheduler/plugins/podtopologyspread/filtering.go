package podtopologyspread

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Filter reasons, exactly as kube-scheduler reports them.
const (
	// ErrReasonConstraintsNotMatch: placing the pod on the node would exceed maxSkew.
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	// ErrReasonNodeLabelNotMatch: the node lacks a constraint's topology key.
	ErrReasonNodeLabelNotMatch = ErrReasonConstraintsNotMatch + " (missing required label)"
)

const preFilterStateKey = "PreFilter" + Name

// preFilterState is computed once per cycle by PreFilter and read by Filter. Everything is
// indexed by constraint.
type preFilterState struct {
	constraints []topologySpreadConstraint
	// tpValueToMatchNum counts matching pods per topology value, over the eligible nodes.
	tpValueToMatchNum []map[string]int
	// minMatchNum is the smallest count of any domain (math.MaxInt32 when none).
	minMatchNum []int
	pod         *corev1.Pod
	required    nodeaffinity.RequiredNodeAffinity
}

// countNode adds sign times a node's matching pods to the counts.
func (s *preFilterState) countNode(ni *framework.NodeInfo, sign int) {
	node := ni.Node
	if node == nil || !nodeLabelsMatchSpreadConstraints(node.Labels, s.constraints) {
		return
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.matchNodeInclusionPolicies(s.pod, node, s.required) {
			continue
		}
		s.tpValueToMatchNum[i][node.Labels[c.TopologyKey]] += sign * countPodsMatchSelector(ni.PodList(), c.Selector, s.pod.Namespace)
	}
}

func (s *preFilterState) computeMins() {
	s.minMatchNum = make([]int, len(s.constraints))
	for i, m := range s.tpValueToMatchNum {
		min := math.MaxInt32
		for _, n := range m {
			if n < min {
				min = n
			}
		}
		s.minMatchNum[i] = min
	}
}

// globalMin is the minimum for the skew of constraint i: 0 while fewer than minDomains
// domains are eligible.
func (s *preFilterState) globalMin(i int) int {
	if len(s.tpValueToMatchNum[i]) < int(s.constraints[i].MinDomains) {
		return 0
	}
	return s.minMatchNum[i]
}

// PreFilter counts, per DoNotSchedule constraint and topology value, the pods the
// constraint's selector matches on eligible nodes.
func (pl *PodTopologySpread) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	constraints, err := pl.getConstraints(pod, corev1.DoNotSchedule)
	if err != nil {
		return framework.NewStatus(framework.Error, fmt.Sprintf("get constraints from pod: %v", err))
	}
	s, ok := state.Recycled(preFilterStateKey).(*preFilterState)
	if !ok {
		s = &preFilterState{}
	}
	*s = preFilterState{constraints: constraints, pod: pod}
	state.Write(preFilterStateKey, s)
	if len(constraints) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s.required = nodeaffinity.GetRequiredNodeAffinity(pod)
	s.tpValueToMatchNum = make([]map[string]int, len(constraints))
	for i := range s.tpValueToMatchNum {
		s.tpValueToMatchNum[i] = map[string]int{}
	}
	for _, ni := range pl.h.NodeInfos() {
		s.countNode(ni, 1)
	}
	s.computeMins()
	return nil
}

func getPreFilterState(state *framework.CycleState) (*preFilterState, error) {
	return framework.ReadState[*preFilterState](state, preFilterStateKey)
}

// forNode returns the state as PreFilter would have computed it with ni in place of the
// scheduler's node of that name: ni itself normally, and for a what-if clone (preemption
// with victims removed) the counts with the original's pods replaced by the clone's, as
// upstream's AddPod/RemovePod extensions make them. Domains stay as they were.
func (pl *PodTopologySpread) forNode(s *preFilterState, ni *framework.NodeInfo) *preFilterState {
	orig, ok := pl.h.NodeInfo(ni.Name())
	if ok && orig == ni {
		return s
	}
	c := *s
	c.tpValueToMatchNum = make([]map[string]int, len(s.tpValueToMatchNum))
	for i, m := range s.tpValueToMatchNum {
		c.tpValueToMatchNum[i] = make(map[string]int, len(m))
		for k, v := range m {
			c.tpValueToMatchNum[i][k] = v
		}
	}
	if ok {
		c.countNode(orig, -1)
	}
	c.countNode(ni, 1)
	c.computeMins()
	return &c
}

// Filter rejects a node lacking a constraint's topology key, or whose domain would exceed
// a constraint's maxSkew: matching pods there, plus one if the pod matches itself, minus
// the global minimum.
func (pl *PodTopologySpread) Filter(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node
	if node == nil {
		return framework.NewStatus(framework.Error, "node not found")
	}
	s, err := getPreFilterState(state)
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	if len(s.constraints) == 0 {
		return nil
	}
	s = pl.forNode(s, ni)
	podLabels := labels.Set(pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		tpVal, ok := node.Labels[c.TopologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := 0
		if c.Selector.Matches(podLabels) {
			self = 1
		}
		skew := s.tpValueToMatchNum[i][tpVal] + self - s.globalMin(i)
		if skew > int(c.MaxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}
