// Package fake is a framework.Handle over a fixed set of NodeInfos, and builders of nodes
// and pods, for plugin tests.
package fake

import (
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Handle is a cluster of NodeInfos and namespace labels.
type Handle struct {
	Nodes      []*framework.NodeInfo
	Namespaces map[string]map[string]string
	byName     map[string]*framework.NodeInfo
}

var _ framework.Handle = (*Handle)(nil)

// NodeInfos returns the nodes in the order given.
func (h *Handle) NodeInfos() []*framework.NodeInfo { return h.Nodes }

// NodeInfo returns one node by name.
func (h *Handle) NodeInfo(name string) (*framework.NodeInfo, bool) {
	if h.byName == nil {
		h.byName = map[string]*framework.NodeInfo{}
		for _, n := range h.Nodes {
			h.byName[n.Name()] = n
		}
	}
	n, ok := h.byName[name]
	return n, ok
}

// NamespaceLabels returns a namespace's labels.
func (h *Handle) NamespaceLabels(ns string) map[string]string { return h.Namespaces[ns] }

// Rand returns a fixed-seed stream.
func (h *Handle) Rand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// Client returns nil: plugins under test make no API calls.
func (h *Handle) Client() framework.Client { return nil }

// Node returns a node with the hostname label and lbls.
func Node(name string, lbls map[string]string) *corev1.Node {
	l := map[string]string{corev1.LabelHostname: name}
	for k, v := range lbls {
		l[k] = v
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// Pod returns a pod with labels, bound to nodeName (may be empty).
func Pod(ns, name string, lbls map[string]string, nodeName string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls}, Spec: corev1.PodSpec{NodeName: nodeName}}
}

// Cluster builds a Handle whose nodes hold the pods bound to them.
func Cluster(nodes []*corev1.Node, pods []*corev1.Pod, ns map[string]map[string]string) *Handle {
	h := &Handle{Namespaces: ns}
	for _, n := range nodes {
		ni := framework.NewNodeInfo(n)
		for _, p := range pods {
			if p.Spec.NodeName == n.Name {
				ni.AddPod(p.Namespace+"/"+p.Name, framework.NewPodInfo(p))
			}
		}
		h.Nodes = append(h.Nodes, ni)
	}
	return h
}
