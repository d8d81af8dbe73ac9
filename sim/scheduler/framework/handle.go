package framework

import (
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Handle is what plugins may ask of the scheduler: the cluster as the scheduler's cache sees
// it, the seeded random stream, and the API calls a plugin makes. Everything it returns is
// read-only.
type Handle interface {
	// NodeInfos returns every node with a Node object, in name order.
	NodeInfos() []*NodeInfo
	// NodeInfo returns one node's info.
	NodeInfo(name string) (*NodeInfo, bool)
	// NamespaceLabels returns a namespace's labels, for namespaceSelector; a namespace the
	// handle does not know yet has the label the API server gives every one
	// (kubernetes.io/metadata.name).
	NamespaceLabels(namespace string) map[string]string
	// Rand returns the scheduler's seeded random stream.
	Rand() *rand.Rand
	// Client makes the API calls plugins need: binding and (for preemption) deleting pods
	// and setting nominated nodes.
	Client() Client
}

// Client is the subset of the API a plugin may call, under the scheduler's identity.
type Client interface {
	Bind(b *corev1.Binding) error
	// DeletePod deletes a pod (gracefully), as preemption evicts a victim.
	DeletePod(namespace, name string) error
	// UpdatePodStatus writes a pod's status (conditions, nominatedNodeName).
	UpdatePodStatus(pod *corev1.Pod) error
}

// Factory builds a plugin from its args (a typed, defaulted *configv1.XxxArgs from
// k8s.io/kube-scheduler/config/v1, or nil when the plugin takes none) and the handle.
type Factory func(args runtime.Object, h Handle) (Plugin, error)

// Registry maps plugin names, as configuration files spell them, to factories.
type Registry map[string]Factory

// Merge adds other's plugins to r; a name registered twice is an error.
func (r Registry) Merge(other Registry) error {
	for name, f := range other {
		if _, ok := r[name]; ok {
			return &DuplicatePluginError{Name: name}
		}
		r[name] = f
	}
	return nil
}

// DuplicatePluginError reports a plugin name registered twice.
type DuplicatePluginError struct{ Name string }

func (e *DuplicatePluginError) Error() string {
	return "a plugin named " + e.Name + " already exists"
}

// FilterRunner runs the filters of the profile a pod belongs to against any NodeInfo,
// including a modified clone (preemption's dry runs). The scheduler's Handle implements it.
type FilterRunner interface {
	RunFilters(state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// EventRecorder records core/v1 Events under the scheduler's identity, as upstream's
// Handle.EventRecorder does (preemption records Preempted on each victim). The scheduler's
// Handle implements it.
type EventRecorder interface {
	Eventf(obj runtime.Object, eventType, reason, format string, args ...any)
}

// PDBLister lists the PodDisruptionBudgets the scheduler knows (preemption counts their
// violations). The scheduler's Handle implements it.
type PDBLister interface {
	PodDisruptionBudgets() []*policyv1.PodDisruptionBudget
}

// Nominator lists the pending pods nominated to a node by an earlier preemption (upstream's
// PodNominator), in key order. The scheduler's Handle implements it.
type Nominator interface {
	NominatedPodsForNode(node string) []*PodInfo
}

// AffinityLister lists, in name order, the nodes that hold pods with pod affinity or
// anti-affinity, and those holding pods with required anti-affinity, so that
// InterPodAffinity need not visit every node for a pod without terms of its own. The
// scheduler's Handle implements it.
type AffinityLister interface {
	NodeInfosWithAffinity() []*NodeInfo
	NodeInfosWithRequiredAntiAffinity() []*NodeInfo
}

// PodLabelIndex finds accounted pods by one label, so that a plugin whose terms select
// pods by label (InterPodAffinity) visits the candidates instead of every pod. The
// scheduler's Handle implements it.
type PodLabelIndex interface {
	// PodsWithLabel calls fn for every pod on a node with a Node object whose label key has
	// value, with its NodeInfo. The order is unspecified: callers may only accumulate.
	PodsWithLabel(key, value string, fn func(pi *PodInfo, ni *NodeInfo))
}

// NodeVersioner tells plugins that index Node objects whether any changed: the number
// grows whenever a node is added, updated or removed. The scheduler's Handle implements it.
type NodeVersioner interface {
	NodesGeneration() uint64
}
