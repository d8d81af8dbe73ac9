package interpodaffinity

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Filter reasons, exactly as kube-scheduler reports them.
const (
	// ErrReasonExistingAntiAffinityRulesNotMatch: the node would break an existing pod's
	// required anti-affinity.
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	// ErrReasonAffinityRulesNotMatch: the node is not in a domain with pods the incoming
	// pod's required affinity asks for.
	ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules"
	// ErrReasonAntiAffinityRulesNotMatch: the node is in a domain with pods the incoming
	// pod's required anti-affinity forbids.
	ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"
)

const preFilterStateKey = "PreFilter" + Name

// topologyPair is one topology domain: a node label key and value.
type topologyPair struct{ key, value string }

// topologyToMatchedTermCount counts matches per domain.
type topologyToMatchedTermCount map[topologyPair]int64

func (m topologyToMatchedTermCount) update(node *corev1.Node, tk string, v int64) {
	if tv, ok := node.Labels[tk]; ok {
		p := topologyPair{key: tk, value: tv}
		m[p] += v
		if m[p] == 0 {
			delete(m, p)
		}
	}
}

func (m topologyToMatchedTermCount) clone() topologyToMatchedTermCount {
	c := make(topologyToMatchedTermCount, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// updateWithAffinityTerms adds v to the domain of node for every term, if pod matches all
// the terms.
func (m topologyToMatchedTermCount) updateWithAffinityTerms(terms []affinityTerm, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, v int64) {
	if podMatchesAllAffinityTerms(terms, pod, nsLabels) {
		for i := range terms {
			m.update(node, terms[i].topologyKey, v)
		}
	}
}

// updateWithAntiAffinityTerms adds v to the domain of node for every term pod matches.
func (m topologyToMatchedTermCount) updateWithAntiAffinityTerms(terms []affinityTerm, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, v int64) {
	for i := range terms {
		if terms[i].matches(pod, nsLabels) {
			m.update(node, terms[i].topologyKey, v)
		}
	}
}

// podMatchesAllAffinityTerms reports whether pod matches every term (false for none).
func podMatchesAllAffinityTerms(terms []affinityTerm, pod *corev1.Pod, nsLabels labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

// preFilterState is computed once per cycle by PreFilter and read by Filter.
type preFilterState struct {
	// existingAntiAffinityCounts counts, per domain, existing pods' required anti-affinity
	// terms that the incoming pod matches.
	existingAntiAffinityCounts topologyToMatchedTermCount
	// affinityCounts counts, per domain, existing pods matching all the incoming pod's
	// required affinity terms.
	affinityCounts topologyToMatchedTermCount
	// antiAffinityCounts counts, per domain, existing pods matching the incoming pod's
	// required anti-affinity terms.
	antiAffinityCounts topologyToMatchedTermCount
	// existingKeys are the topology keys of existingAntiAffinityCounts, sorted.
	existingKeys []string
	pod          *corev1.Pod
	terms        *podTerms
	// namespaceLabels are the labels of the incoming pod's namespace.
	namespaceLabels labels.Set
	// skip is set when nothing constrains the pod: Filter passes every node.
	skip bool
	// nsc is PreFilter's cache of namespace labels, kept with the state so that a recycled
	// state brings its map back.
	nsc nsLabelCache
}

// reset makes s (new, or last cycle's) the empty state of pod with terms, keeping the
// maps it had.
func (s *preFilterState) reset(pl *InterPodAffinity, pod *corev1.Pod, terms *podTerms) {
	existing, affinity, anti := s.existingAntiAffinityCounts, s.affinityCounts, s.antiAffinityCounts
	if existing == nil {
		existing, affinity, anti = topologyToMatchedTermCount{}, topologyToMatchedTermCount{}, topologyToMatchedTermCount{}
	}
	clear(existing)
	clear(affinity)
	clear(anti)
	nsc := s.nsc.m
	clear(nsc)
	*s = preFilterState{
		existingAntiAffinityCounts: existing,
		affinityCounts:             affinity,
		antiAffinityCounts:         anti,
		existingKeys:               s.existingKeys[:0],
		pod:                        pod,
		terms:                      terms,
		namespaceLabels:            namespaceLabels(pl.h, pod.Namespace),
		nsc:                        nsLabelCache{h: pl.h, m: nsc},
	}
}

// nodeCounts is one node's contribution to the three counts.
type nodeCounts struct {
	existing, affinity, anti topologyToMatchedTermCount
}

// countNode adds (v = 1) or removes (v = -1) one node's contribution to the counts: for
// every existing pod with required anti-affinity, the terms that match the incoming pod;
// for every existing pod, whether it matches the incoming pod's required terms.
func (pl *InterPodAffinity) countNode(s *preFilterState, c nodeCounts, ni *framework.NodeInfo, nsc *nsLabelCache, v int64) {
	pl.countExisting(s, c, ni, v)
	if s.incoming() {
		pl.countIncoming(s, c, ni, nsc, v)
	}
}

// countExisting adds the node's pods with required anti-affinity whose terms match the
// incoming pod.
func (pl *InterPodAffinity) countExisting(s *preFilterState, c nodeCounts, ni *framework.NodeInfo, v int64) {
	node := ni.Node
	if node == nil {
		return
	}
	for _, pi := range ni.PodsWithRequiredAntiAffinity {
		c.existing.updateWithAntiAffinityTerms(pl.terms.get(pi.Pod).requiredAntiAffinity, s.pod, s.namespaceLabels, node, v)
	}
}

// countIncoming adds the node's pods that match the incoming pod's required terms.
func (pl *InterPodAffinity) countIncoming(s *preFilterState, c nodeCounts, ni *framework.NodeInfo, nsc *nsLabelCache, v int64) {
	node := ni.Node
	if node == nil {
		return
	}
	for _, pi := range ni.PodList() {
		// The incoming pod's namespaceSelector is evaluated against the existing pod's
		// namespace labels (upstream merges the matching namespaces into the term instead;
		// the outcome is the same).
		p := pi.Pod
		nsl := nsc.get(p.Namespace)
		c.affinity.updateWithAffinityTerms(s.terms.requiredAffinity, p, nsl, node, v)
		c.anti.updateWithAntiAffinityTerms(s.terms.requiredAntiAffinity, p, nsl, node, v)
	}
}

// indexKey returns a label key and the values one of which every pod the term selects
// carries (from an Equals or In requirement), if the selector has one.
func indexKey(t *affinityTerm) (string, []string, bool) {
	reqs, selectable := t.selector.Requirements()
	if !selectable {
		return "", nil, false
	}
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			return r.Key(), r.Values().List(), true
		}
	}
	return "", nil, false
}

// countIncomingIndexed is countIncoming over every node, visiting through the label index
// only the pods the terms can select: each anti-affinity term's candidates, and the
// candidates of one affinity term (a pod must match all of them). It reports false, having
// counted nothing, when a term selects by no Equals or In requirement.
func (pl *InterPodAffinity) countIncomingIndexed(s *preFilterState, c nodeCounts, idx framework.PodLabelIndex, nsc *nsLabelCache) bool {
	type lookup struct {
		key    string
		values []string
	}
	anti := make([]lookup, len(s.terms.requiredAntiAffinity))
	for i := range s.terms.requiredAntiAffinity {
		k, vs, ok := indexKey(&s.terms.requiredAntiAffinity[i])
		if !ok {
			return false
		}
		anti[i] = lookup{k, vs}
	}
	var aff *lookup
	for i := range s.terms.requiredAffinity {
		if k, vs, ok := indexKey(&s.terms.requiredAffinity[i]); ok {
			aff = &lookup{k, vs}
			break
		}
	}
	if aff == nil && len(s.terms.requiredAffinity) > 0 {
		return false
	}
	for i := range s.terms.requiredAntiAffinity {
		t := &s.terms.requiredAntiAffinity[i]
		for _, v := range anti[i].values {
			idx.PodsWithLabel(anti[i].key, v, func(pi *framework.PodInfo, ni *framework.NodeInfo) {
				if t.matches(pi.Pod, nsc.get(pi.Pod.Namespace)) {
					c.anti.update(ni.Node, t.topologyKey, 1)
				}
			})
		}
	}
	if aff != nil {
		for _, v := range aff.values {
			idx.PodsWithLabel(aff.key, v, func(pi *framework.PodInfo, ni *framework.NodeInfo) {
				c.affinity.updateWithAffinityTerms(s.terms.requiredAffinity, pi.Pod, nsc.get(pi.Pod.Namespace), ni.Node, 1)
			})
		}
	}
	return true
}

// incoming reports whether the pod being scheduled has required terms of its own.
func (s *preFilterState) incoming() bool {
	return len(s.terms.requiredAffinity) > 0 || len(s.terms.requiredAntiAffinity) > 0
}

// PreFilter counts, per topology domain, the existing pods whose required anti-affinity
// the pod matches and the existing pods matching the pod's required affinity and
// anti-affinity terms.
func (pl *InterPodAffinity) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	pl.terms.rotate()
	terms, err := pl.incomingTerms(pod)
	if err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("parsing pod: %+v", err))
	}
	s, ok := state.Recycled(preFilterStateKey).(*preFilterState)
	if !ok {
		s = &preFilterState{}
	}
	s.reset(pl, pod, terms)
	nsc := &s.nsc
	c := nodeCounts{existing: s.existingAntiAffinityCounts, affinity: s.affinityCounts, anti: s.antiAffinityCounts}
	// Without required terms of its own, only nodes holding pods with required
	// anti-affinity matter, as upstream's PreFilter visits only those.
	nodes := pl.h.NodeInfos()
	al, hasLister := pl.h.(framework.AffinityLister)
	idx, hasIndex := pl.h.(framework.PodLabelIndex)
	switch {
	case hasLister && !s.incoming():
		for _, ni := range al.NodeInfosWithRequiredAntiAffinity() {
			pl.countExisting(s, c, ni, 1)
		}
	case hasLister && hasIndex && pl.countIncomingIndexed(s, c, idx, nsc):
		for _, ni := range al.NodeInfosWithRequiredAntiAffinity() {
			pl.countExisting(s, c, ni, 1)
		}
	default:
		for _, ni := range nodes {
			pl.countNode(s, c, ni, nsc, 1)
		}
	}
	s.existingKeys = appendSortedKeys(s.existingKeys, s.existingAntiAffinityCounts)
	s.skip = len(s.existingAntiAffinityCounts) == 0 && len(terms.requiredAffinity) == 0 && len(terms.requiredAntiAffinity) == 0
	state.Write(preFilterStateKey, s)
	if s.skip {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

func sortedKeys(m topologyToMatchedTermCount) []string {
	return appendSortedKeys(nil, m)
}

// appendSortedKeys appends to keys the topology keys of m, each once, and sorts them.
func appendSortedKeys(keys []string, m topologyToMatchedTermCount) []string {
	if len(m) == 0 {
		return keys
	}
	seen := map[string]bool{}
	for p := range m {
		if !seen[p.key] {
			seen[p.key] = true
			keys = append(keys, p.key)
		}
	}
	sort.Strings(keys)
	return keys
}

func getPreFilterState(state *framework.CycleState) (*preFilterState, error) {
	return framework.ReadState[*preFilterState](state, preFilterStateKey)
}

// forNode returns the state as it would be had PreFilter seen ni. ni is normally the
// scheduler's own NodeInfo and the state is returned as is; a modified clone (preemption's
// what-if with victims removed) gets the counts with the original node's contribution
// replaced by the clone's, as upstream's AddPod/RemovePod extensions would make them.
func (pl *InterPodAffinity) forNode(s *preFilterState, ni *framework.NodeInfo) *preFilterState {
	orig, ok := pl.h.NodeInfo(ni.Name())
	if ok && orig == ni {
		return s
	}
	c := *s
	c.existingAntiAffinityCounts = s.existingAntiAffinityCounts.clone()
	c.affinityCounts = s.affinityCounts.clone()
	c.antiAffinityCounts = s.antiAffinityCounts.clone()
	nc := nodeCounts{existing: c.existingAntiAffinityCounts, affinity: c.affinityCounts, anti: c.antiAffinityCounts}
	nsc := &nsLabelCache{h: pl.h}
	if ok {
		pl.countNode(&c, nc, orig, nsc, -1)
	}
	pl.countNode(&c, nc, ni, nsc, 1)
	c.existingKeys = sortedKeys(c.existingAntiAffinityCounts)
	return &c
}

// satisfyExistingPodsAntiAffinity reports whether placing the pod on the node breaks no
// existing pod's required anti-affinity.
func satisfyExistingPodsAntiAffinity(s *preFilterState, node *corev1.Node) bool {
	for _, k := range s.existingKeys {
		if v, ok := node.Labels[k]; ok && s.existingAntiAffinityCounts[topologyPair{key: k, value: v}] > 0 {
			return false
		}
	}
	return true
}

// satisfyPodAntiAffinity reports whether the node's domains hold no pod the incoming pod's
// required anti-affinity forbids.
func satisfyPodAntiAffinity(s *preFilterState, node *corev1.Node) bool {
	if len(s.antiAffinityCounts) == 0 {
		return true
	}
	for i := range s.terms.requiredAntiAffinity {
		t := &s.terms.requiredAntiAffinity[i]
		if v, ok := node.Labels[t.topologyKey]; ok && s.antiAffinityCounts[topologyPair{key: t.topologyKey, value: v}] > 0 {
			return false
		}
	}
	return true
}

// satisfyPodAffinity reports whether the node has every topology key of the pod's required
// affinity terms, each domain holding a matching pod; or, when no pod anywhere matches,
// whether the pod matches its own terms (the first pod of a self-affine group).
func satisfyPodAffinity(s *preFilterState, node *corev1.Node) bool {
	podsExist := true
	for i := range s.terms.requiredAffinity {
		t := &s.terms.requiredAffinity[i]
		v, ok := node.Labels[t.topologyKey]
		if !ok {
			// All topology labels must exist on the node.
			return false
		}
		if s.affinityCounts[topologyPair{key: t.topologyKey, value: v}] <= 0 {
			podsExist = false
		}
	}
	if !podsExist {
		return len(s.affinityCounts) == 0 && podMatchesAllAffinityTerms(s.terms.requiredAffinity, s.pod, s.namespaceLabels)
	}
	return true
}

// Filter checks the pod's required affinity, its required anti-affinity and existing
// pods' required anti-affinity against the node's domains, in upstream's order.
func (pl *InterPodAffinity) Filter(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := getPreFilterState(state)
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	if ni.Node == nil {
		return framework.NewStatus(framework.Error, "node not found")
	}
	if s.skip {
		// Nothing constrains the pod; a what-if clone only removes pods, which cannot
		// add constraints.
		return nil
	}
	s = pl.forNode(s, ni)
	if !satisfyPodAffinity(s, ni.Node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	if !satisfyPodAntiAffinity(s, ni.Node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	}
	if !satisfyExistingPodsAntiAffinity(s, ni.Node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
	}
	return nil
}
