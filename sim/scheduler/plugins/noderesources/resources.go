package noderesources

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Resource-name predicates, as upstream's v1helper spells them. The scheduler needs them to
// tell extended resources (which args may ignore) and scalar resources (which are not scored
// for pods that do not request them) from the native ones.

func isPrefixedNativeResource(name corev1.ResourceName) bool {
	return strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || isPrefixedNativeResource(name)
}

// isExtendedResourceName reports whether name is an extended resource: outside the
// kubernetes.io namespace, with a slash, and valid as a quota name ("requests." + name).
func isExtendedResourceName(name corev1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// isScalarResourceName reports whether name is accounted in Resource.Scalar upstream:
// extended resources, hugepages, kubernetes.io-prefixed and attachable-volume resources.
func isScalarResourceName(name corev1.ResourceName) bool {
	return isExtendedResourceName(name) || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) ||
		isPrefixedNativeResource(name) || strings.HasPrefix(string(name), corev1.ResourceAttachableVolumesPrefix)
}

// resourceKind says where a Resource keeps a resource, so the hot paths switch on a byte
// instead of comparing names.
type resourceKind uint8

const (
	kindScalar resourceKind = iota
	kindCPU
	kindMemory
	kindEphemeralStorage
)

func kindOf(name corev1.ResourceName) resourceKind {
	switch name {
	case corev1.ResourceCPU:
		return kindCPU
	case corev1.ResourceMemory:
		return kindMemory
	case corev1.ResourceEphemeralStorage:
		return kindEphemeralStorage
	}
	return kindScalar
}

// scoredResource is one configured scoring resource, with what the hot path needs
// precomputed.
type scoredResource struct {
	name   corev1.ResourceName
	weight int64
	kind   resourceKind
	scalar bool // isScalarResourceName(name)
}

func newScoredResources(specs []ResourceWeight) []scoredResource {
	out := make([]scoredResource, len(specs))
	for i, s := range specs {
		out[i] = scoredResource{name: s.Name, weight: s.Weight, kind: kindOf(s.Name), scalar: isScalarResourceName(s.Name)}
	}
	return out
}

// isCPUMemory reports whether the scored resources are exactly cpu then memory (the
// default), for which the scorers have a direct path.
func isCPUMemory(resources []scoredResource) bool {
	return len(resources) == 2 && resources[0].kind == kindCPU && resources[1].kind == kindMemory
}

// amount is how much of r a Resource holds (cpu in millicores).
func amount(res *framework.Resource, r *scoredResource) int64 {
	switch r.kind {
	case kindCPU:
		return res.MilliCPU
	case kindMemory:
		return res.Memory
	case kindEphemeralStorage:
		return res.EphemeralStorage
	}
	return res.Scalar[r.name]
}

// allocatableAndRequested is upstream's calculateResourceAllocatableRequest: the node's
// allocatable amount of r and what its pods plus this pod request. cpu and memory count the
// node's non-zero requests unless useRequested; a scalar resource the pod does not request,
// or one the node does not have, returns (0, 0) and is left out of the score.
func allocatableAndRequested(n *framework.NodeInfo, r *scoredResource, podRequest int64, useRequested bool) (int64, int64) {
	if podRequest == 0 && r.scalar {
		return 0, 0
	}
	requested := &n.NonZeroRequested
	if useRequested {
		requested = &n.Requested
	}
	switch r.kind {
	case kindCPU:
		return n.Allocatable.MilliCPU, requested.MilliCPU + podRequest
	case kindMemory:
		return n.Allocatable.Memory, requested.Memory + podRequest
	case kindEphemeralStorage:
		return n.Allocatable.EphemeralStorage, n.Requested.EphemeralStorage + podRequest
	}
	if alloc, ok := n.Allocatable.Scalar[r.name]; ok {
		return alloc, n.Requested.Scalar[r.name] + podRequest
	}
	return 0, 0
}
