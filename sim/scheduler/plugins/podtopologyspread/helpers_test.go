package podtopologyspread

import (
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// fakeHandle is a cluster of NodeInfos and namespace labels.
type fakeHandle struct {
	nodes  []*framework.NodeInfo
	byName map[string]*framework.NodeInfo
	ns     map[string]map[string]string
}

func (h *fakeHandle) NodeInfos() []*framework.NodeInfo { return h.nodes }
func (h *fakeHandle) NodeInfo(name string) (*framework.NodeInfo, bool) {
	if h.byName == nil {
		h.byName = map[string]*framework.NodeInfo{}
		for _, n := range h.nodes {
			h.byName[n.Name()] = n
		}
	}
	n, ok := h.byName[name]
	return n, ok
}
func (h *fakeHandle) NamespaceLabels(ns string) map[string]string { return h.ns[ns] }
func (h *fakeHandle) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (h *fakeHandle) Client() framework.Client                    { return nil }

func node(name string, lbls map[string]string) *corev1.Node {
	l := map[string]string{corev1.LabelHostname: name}
	for k, v := range lbls {
		l[k] = v
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func pod(ns, name string, lbls map[string]string, nodeName string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls}, Spec: corev1.PodSpec{NodeName: nodeName}}
}

// cluster places the pods on their spec.nodeName.
func cluster(nodes []*corev1.Node, pods []*corev1.Pod, ns map[string]map[string]string) *fakeHandle {
	h := &fakeHandle{ns: ns}
	for _, n := range nodes {
		ni := framework.NewNodeInfo(n)
		for _, p := range pods {
			if p.Spec.NodeName == n.Name {
				ni.AddPod(p.Namespace+"/"+p.Name, framework.NewPodInfo(p))
			}
		}
		h.nodes = append(h.nodes, ni)
	}
	return h
}

func spread(p *corev1.Pod, maxSkew int32, key string, action corev1.UnsatisfiableConstraintAction, s *metav1.LabelSelector, opts ...func(*corev1.TopologySpreadConstraint)) *corev1.Pod {
	c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action, LabelSelector: s}
	for _, o := range opts {
		o(&c)
	}
	p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	return p
}
