package interpodaffinity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// affinityTerm is a parsed PodAffinityTerm: upstream's framework.AffinityTerm.
type affinityTerm struct {
	// namespaces are the namespaces named by the term (the pod's own when the term names
	// none and has no namespaceSelector).
	namespaces []string
	// nsSelector is the namespaceSelector; a nil selector in the spec matches nothing, an
	// empty one everything.
	nsSelector  labels.Selector
	selector    labels.Selector
	topologyKey string
}

// weightedTerm is a preferred term with its weight.
type weightedTerm struct {
	affinityTerm
	weight int32
}

// matches reports whether pod is in one of the term's namespaces (nsLabels are the labels
// of pod's namespace) and matches its label selector.
func (t *affinityTerm) matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if t.hasNamespace(pod.Namespace) || t.nsSelector.Matches(nsLabels) {
		return t.selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

func (t *affinityTerm) hasNamespace(ns string) bool {
	for _, n := range t.namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// newAffinityTerm parses one term of pod, as upstream's newAffinityTerm does, and folds
// matchLabelKeys and mismatchLabelKeys into the selector as the API server does at pod
// creation (In and NotIn the pod's own values for keys the pod has).
func newAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (affinityTerm, error) {
	selector, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return affinityTerm{}, err
	}
	if term.LabelSelector != nil {
		for _, k := range term.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				r, err := labels.NewRequirement(k, selection.In, []string{v})
				if err != nil {
					return affinityTerm{}, err
				}
				selector = selector.Add(*r)
			}
		}
		for _, k := range term.MismatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				r, err := labels.NewRequirement(k, selection.NotIn, []string{v})
				if err != nil {
					return affinityTerm{}, err
				}
				selector = selector.Add(*r)
			}
		}
	}
	nsSelector, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return affinityTerm{}, err
	}
	var namespaces []string
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		namespaces = []string{pod.Namespace}
	} else {
		namespaces = term.Namespaces
	}
	return affinityTerm{namespaces: namespaces, nsSelector: nsSelector, selector: selector, topologyKey: term.TopologyKey}, nil
}

func newAffinityTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) ([]affinityTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]affinityTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func newWeightedTerms(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) ([]weightedTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]weightedTerm, 0, len(terms))
	for i := range terms {
		// A zero-weight term adds nothing to any score.
		if terms[i].Weight == 0 {
			continue
		}
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			return nil, err
		}
		out = append(out, weightedTerm{affinityTerm: t, weight: terms[i].Weight})
	}
	return out, nil
}

// podTerms are a pod's parsed affinity terms: upstream's PodInfo fields.
type podTerms struct {
	requiredAffinity      []affinityTerm
	requiredAntiAffinity  []affinityTerm
	preferredAffinity     []weightedTerm
	preferredAntiAffinity []weightedTerm
}

// parsePodTerms parses every affinity term of pod.
func parsePodTerms(pod *corev1.Pod) (*podTerms, error) {
	pt := &podTerms{}
	a := pod.Spec.Affinity
	if a == nil {
		return pt, nil
	}
	var err error
	if pa := a.PodAffinity; pa != nil {
		if pt.requiredAffinity, err = newAffinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, fmt.Errorf("requiredAffinityTerms: %w", err)
		}
		if pt.preferredAffinity, err = newWeightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, fmt.Errorf("preferredAffinityTerms: %w", err)
		}
	}
	if pa := a.PodAntiAffinity; pa != nil {
		if pt.requiredAntiAffinity, err = newAffinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, fmt.Errorf("requiredAntiAffinityTerms: %w", err)
		}
		if pt.preferredAntiAffinity, err = newWeightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, fmt.Errorf("preferredAntiAffinityTerms: %w", err)
		}
	}
	return pt, nil
}
