package interpodaffinity

import (
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

const preScoreStateKey = "PreScore" + Name

// scoreMap sums term weights per topology key and value.
type scoreMap map[string]map[string]int64

func (m scoreMap) processTerm(t *affinityTerm, weight int32, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, multiplier int32) {
	if !t.matches(pod, nsLabels) {
		return
	}
	v, ok := node.Labels[t.topologyKey]
	if !ok {
		return
	}
	if m[t.topologyKey] == nil {
		m[t.topologyKey] = map[string]int64{}
	}
	m[t.topologyKey][v] += int64(weight * multiplier)
}

func (m scoreMap) processTerms(terms []weightedTerm, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, multiplier int32) {
	for i := range terms {
		m.processTerm(&terms[i].affinityTerm, terms[i].weight, pod, nsLabels, node, multiplier)
	}
}

// preScoreState is computed by PreScore and read by Score.
type preScoreState struct {
	topologyScore scoreMap
	// keys are topologyScore's keys, sorted, so that Score sums in a fixed order.
	keys []string
}

// processExistingPod adds what one existing pod contributes to the domain of its node:
// the incoming pod's preferred terms it matches, and its own required affinity (weighted
// by hardPodAffinityWeight) and preferred terms the incoming pod matches. withAffinity
// says whether the existing pod has pod affinity or anti-affinity (the caller knows it of
// a NodeInfo's PodsWithAffinity without reading the pod, which would cost a cache miss
// per pod).
func (pl *InterPodAffinity) processExistingPod(incoming *podTerms, pod *corev1.Pod, nsLabels labels.Set, existing *corev1.Pod, withAffinity bool, node *corev1.Node, nsc *nsLabelCache, m scoreMap) {
	if len(node.Labels) == 0 {
		return
	}
	if len(incoming.preferredAffinity) > 0 || len(incoming.preferredAntiAffinity) > 0 {
		nsl := nsc.get(existing.Namespace)
		m.processTerms(incoming.preferredAffinity, existing, nsl, node, 1)
		m.processTerms(incoming.preferredAntiAffinity, existing, nsl, node, -1)
	}
	if !withAffinity {
		return
	}
	et := pl.terms.get(existing)
	if w := pl.args.weight(); w > 0 {
		for i := range et.requiredAffinity {
			m.processTerm(&et.requiredAffinity[i], w, pod, nsLabels, node, 1)
		}
	}
	m.processTerms(et.preferredAffinity, pod, nsLabels, node, 1)
	m.processTerms(et.preferredAntiAffinity, pod, nsLabels, node, -1)
}

// PreScore sums, per topology domain, the weights of the preferred terms between the pod
// and the existing pods, and of existing pods' required affinity the pod matches.
func (pl *InterPodAffinity) PreScore(state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if len(nodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	incoming, err := pl.incomingTerms(pod)
	if err != nil {
		return framework.NewStatus(framework.Error, fmt.Sprintf("failed to parse pod: %v", err))
	}
	hasConstraints := hasPreferredTerms(pod)
	if pl.args.IgnorePreferredTermsOfExistingPods && !hasConstraints {
		return framework.NewStatus(framework.Skip)
	}
	// Without preferred terms of its own, only existing pods with affinity count, and only
	// nodes holding such pods need a visit (upstream's HavePodsWithAffinityList).
	visit := pl.h.NodeInfos()
	if al, ok := pl.h.(framework.AffinityLister); ok && !hasConstraints {
		visit = al.NodeInfosWithAffinity()
	}
	if len(visit) == 0 {
		// No pod to score against: the sums below would stay empty, and the plugin skip.
		return framework.NewStatus(framework.Skip)
	}
	nsLabels := namespaceLabels(pl.h, pod.Namespace)
	nsc := &nsLabelCache{h: pl.h}
	m := scoreMap{}
	for _, ni := range visit {
		if ni.Node == nil {
			continue
		}
		if !hasConstraints {
			for _, pi := range ni.PodsWithAffinity {
				pl.processExistingPod(incoming, pod, nsLabels, pi.Pod, true, ni.Node, nsc, m)
			}
			continue
		}
		for _, pi := range ni.PodList() {
			pl.processExistingPod(incoming, pod, nsLabels, pi.Pod, framework.HasAffinity(pi.Pod), ni.Node, nsc, m)
		}
	}
	if len(m) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	state.Write(preScoreStateKey, &preScoreState{topologyScore: m, keys: keys})
	return nil
}

// Score sums the weights of the node's domains; with no state (PreScore skipped) it is 0.
func (pl *InterPodAffinity) Score(state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s := getPreScoreState(state)
	if s == nil || ni.Node == nil {
		return 0, nil
	}
	var score int64
	for _, k := range s.keys {
		if v, ok := ni.Node.Labels[k]; ok {
			score += s.topologyScore[k][v]
		}
	}
	return score, nil
}

// NormalizeScore maps the scores min–max onto [0, MaxNodeScore], truncating as upstream.
func (pl *InterPodAffinity) NormalizeScore(state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s := getPreScoreState(state)
	if s == nil || len(s.topologyScore) == 0 {
		return nil
	}
	var minCount int64 = math.MaxInt64
	var maxCount int64 = math.MinInt64
	for i := range scores {
		if scores[i].Score > maxCount {
			maxCount = scores[i].Score
		}
		if scores[i].Score < minCount {
			minCount = scores[i].Score
		}
	}
	diff := maxCount - minCount
	for i := range scores {
		f := float64(0)
		if diff > 0 {
			f = float64(framework.MaxNodeScore) * (float64(scores[i].Score-minCount) / float64(diff))
		}
		scores[i].Score = int64(f)
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

// hasPreferredTerms reports whether pod has preferred pod affinity or anti-affinity terms.
func hasPreferredTerms(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	return (a.PodAffinity != nil && len(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0) ||
		(a.PodAntiAffinity != nil && len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0)
}
