// Package nodeaffinity is the NodeAffinity plugin: a pod runs only on nodes matching its
// spec.nodeSelector and required node affinity (and the scheduler-wide addedAffinity), and
// nodes matching more of its preferred terms, by weight, score higher.
package nodeaffinity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeAffinity"

// Reasons, exactly as kube-scheduler reports them.
const (
	// ErrReasonPod is the Filter reason for a node that misses the pod's nodeSelector or
	// required node affinity.
	ErrReasonPod = "node(s) didn't match Pod's node affinity/selector"
	// ErrReasonEnforced is the Filter reason for a node that misses args.addedAffinity.
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
	// ErrReasonConflict is the PreFilter reason when the pod's required terms name node(s)
	// by metadata.name in ways no node can satisfy.
	ErrReasonConflict = "pod affinity terms conflict"
)

const (
	preFilterStateKey = "PreFilter" + Name
	preScoreStateKey  = "PreScore" + Name
)

// NodeAffinity is the plugin.
type NodeAffinity struct {
	addedNodeSelector   *nodeaffinity.NodeSelector
	addedPrefSchedTerms *nodeaffinity.PreferredSchedulingTerms
}

var (
	_ framework.PreFilterPlugin = (*NodeAffinity)(nil)
	_ framework.FilterPlugin    = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin  = (*NodeAffinity)(nil)
	_ framework.ScorePlugin     = (*NodeAffinity)(nil)
	_ framework.ScoreExtensions = (*NodeAffinity)(nil)
)

// New is the plugin's factory: args is a *configv1.NodeAffinityArgs (nil means no added
// affinity). A malformed addedAffinity is an error, as upstream parses it at start-up.
func New(args runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	pl := &NodeAffinity{}
	if args == nil {
		return pl, nil
	}
	a, ok := args.(*configv1.NodeAffinityArgs)
	if !ok {
		return nil, fmt.Errorf("want args to be of type NodeAffinityArgs, got %T", args)
	}
	if a.AddedAffinity == nil {
		return pl, nil
	}
	var err error
	if ns := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; ns != nil {
		if pl.addedNodeSelector, err = nodeaffinity.NewNodeSelector(ns); err != nil {
			return nil, fmt.Errorf("parsing addedAffinity.requiredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
	}
	if terms := a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(terms) != 0 {
		if pl.addedPrefSchedTerms, err = nodeaffinity.NewPreferredSchedulingTerms(terms); err != nil {
			return nil, fmt.Errorf("parsing addedAffinity.preferredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
	}
	return pl, nil
}

// Name returns the plugin's name.
func (pl *NodeAffinity) Name() string { return Name }

// preFilterState is the pod's parsed nodeSelector and required affinity; skip means the
// pod and args constrain nothing, so Filter passes every node.
type preFilterState struct {
	required nodeaffinity.RequiredNodeAffinity
	skip     bool
}

func hasRequiredAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
}

// PreFilter parses the pod's requirements once. It returns Skip when there is nothing to
// check (Filter then passes every node), and UnschedulableAndUnresolvable with
// ErrReasonConflict when every required term pins metadata.name and no name satisfies all
// of a term's pins. Upstream also narrows the candidate nodes to the pinned names (a
// PreFilterResult); Orrery's framework has no such result, so Filter rejects the others.
func (pl *NodeAffinity) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	s, ok := state.Recycled(preFilterStateKey).(*preFilterState)
	if !ok {
		s = &preFilterState{}
	}
	required := hasRequiredAffinity(pod)
	if !required && pl.addedNodeSelector == nil && pod.Spec.NodeSelector == nil {
		*s = preFilterState{skip: true}
		state.Write(preFilterStateKey, s)
		return framework.NewStatus(framework.Skip)
	}
	*s = preFilterState{required: nodeaffinity.GetRequiredNodeAffinity(pod)}
	state.Write(preFilterStateKey, s)
	if !required || pl.addedNodeSelector != nil {
		return nil
	}
	if conflict(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
	}
	return nil
}

// conflict reports upstream's "affinity to node names that cannot all hold": every term
// has metadata.name In requirements, and within each term their intersection is empty.
func conflict(terms []corev1.NodeSelectorTerm) bool {
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		var names map[string]bool // nil: this term pins no name
		for _, r := range t.MatchFields {
			if r.Key != metav1.ObjectNameField || r.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			next := map[string]bool{}
			for _, v := range r.Values {
				if names == nil || names[v] {
					next[v] = true
				}
			}
			names = next
		}
		if names == nil || len(names) > 0 {
			// A term without name pins lets every node through; a term with a
			// non-empty intersection lets those nodes through.
			return false
		}
	}
	return true
}

// Filter rejects nodes that miss args.addedAffinity, then nodes that miss the pod's
// nodeSelector or required node affinity.
func (pl *NodeAffinity) Filter(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	node := n.Node
	if pl.addedNodeSelector != nil && !pl.addedNodeSelector.Match(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced)
	}
	var s *preFilterState
	if v, ok := state.Read(preFilterStateKey); ok {
		s = v.(*preFilterState)
	} else {
		s = &preFilterState{required: nodeaffinity.GetRequiredNodeAffinity(pod)}
	}
	if s.skip {
		return nil
	}
	// Parse errors are ignored, as upstream ignores them for backwards compatibility.
	if match, _ := s.required.Match(node); !match {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

// preScoreState is the pod's parsed preferred terms (nil if none).
type preScoreState struct {
	preferred *nodeaffinity.PreferredSchedulingTerms
}

func podPreferredTerms(pod *corev1.Pod) (*nodeaffinity.PreferredSchedulingTerms, error) {
	a := pod.Spec.Affinity
	if a != nil && a.NodeAffinity != nil && a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution != nil {
		return nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return nil, nil
}

// PreScore parses the pod's preferred terms once; with none (and no added preferred
// terms) it returns Skip, and Score gives every node 0.
func (pl *NodeAffinity) PreScore(state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if len(nodes) == 0 {
		return nil
	}
	preferred, err := podPreferredTerms(pod)
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	s, ok := state.Recycled(preScoreStateKey).(*preScoreState)
	if !ok {
		s = &preScoreState{}
	}
	s.preferred = preferred
	state.Write(preScoreStateKey, s)
	if preferred == nil && pl.addedPrefSchedTerms == nil {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is the sum of the weights of the preferred terms (the pod's and args') the node
// matches.
func (pl *NodeAffinity) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var count int64
	if pl.addedPrefSchedTerms != nil {
		count += pl.addedPrefSchedTerms.Score(n.Node)
	}
	v, ok := state.Read(preScoreStateKey)
	if !ok {
		preferred, err := podPreferredTerms(pod)
		if err != nil {
			return 0, framework.NewStatus(framework.Error, err.Error())
		}
		v = &preScoreState{preferred: preferred}
		state.Write(preScoreStateKey, v)
	}
	if s := v.(*preScoreState); s.preferred != nil {
		count += s.preferred.Score(n.Node)
	}
	return count, nil
}

// NormalizeScore scales the sums so the best node scores MaxNodeScore
// (MaxNodeScore*sum/max, integer division); all zero stays zero.
func (pl *NodeAffinity) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}
