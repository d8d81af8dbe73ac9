package podtopologyspread

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

func spread(p *corev1.Pod, maxSkew int32, key string, action corev1.UnsatisfiableConstraintAction, s *metav1.LabelSelector, opts ...func(*corev1.TopologySpreadConstraint)) *corev1.Pod {
	c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action, LabelSelector: s}
	for _, o := range opts {
		o(&c)
	}
	p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	return p
}
