package interpodaffinity

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework/fake"
)

// The fake cluster lives in framework/fake, shared with other plugin tests.
type fakeHandle = fake.Handle

var (
	node    = fake.Node
	pod     = fake.Pod
	cluster = fake.Cluster
)

func sel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func term(s *metav1.LabelSelector, key string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{LabelSelector: s, TopologyKey: key}
}

func withAffinity(p *corev1.Pod, req ...corev1.PodAffinityTerm) *corev1.Pod {
	ensure(p)
	if p.Spec.Affinity.PodAffinity == nil {
		p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{}
	}
	p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, req...)
	return p
}

func withAntiAffinity(p *corev1.Pod, req ...corev1.PodAffinityTerm) *corev1.Pod {
	ensure(p)
	if p.Spec.Affinity.PodAntiAffinity == nil {
		p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, req...)
	return p
}

func withPreferred(p *corev1.Pod, weight int32, t corev1.PodAffinityTerm) *corev1.Pod {
	ensure(p)
	if p.Spec.Affinity.PodAffinity == nil {
		p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{}
	}
	p.Spec.Affinity.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(p.Spec.Affinity.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return p
}

func withPreferredAnti(p *corev1.Pod, weight int32, t corev1.PodAffinityTerm) *corev1.Pod {
	ensure(p)
	if p.Spec.Affinity.PodAntiAffinity == nil {
		p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return p
}

func ensure(p *corev1.Pod) {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
}
