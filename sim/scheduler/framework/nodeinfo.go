package framework

import (
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Default requests the scheduler assumes for scoring a container that requests nothing
// (upstream's DefaultMilliCPURequest and DefaultMemoryRequest).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is a compact vector of the resources the scheduler accounts for.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	// Scalar holds extended resources such as nvidia.com/gpu, in their integer units.
	Scalar map[corev1.ResourceName]int64
}

// NewResource converts a resource list into a Resource.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds a resource list to r.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[name] += q.Value()
		}
	}
}

// AddResource adds o to r (sign -1 subtracts).
func (r *Resource) AddResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] += sign * v
	}
}

// PodInfo is a pod with its requests computed once.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod requests (component-helpers' PodRequests: the max of init
	// containers and the sum of containers, plus overhead).
	Requests Resource
	// NonZero is Requests with upstream's defaults for containers that request no cpu or
	// memory, used for scoring only.
	NonZero Resource
	// Priority is the pod's spec.priority (0 if unset), read often by preemption.
	Priority int32
}

// NewPodInfo computes a pod's requests.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{}
	InitPodInfo(pi, pod)
	return pi
}

// InitPodInfo makes *pi the info of pod, as NewPodInfo, for a caller that keeps the PodInfo
// in a larger struct. A PodInfo may be shared once made: init only one not yet handed out.
func InitPodInfo(pi *PodInfo, pod *corev1.Pod) {
	*pi = PodInfo{Pod: pod, Priority: corev1helpers.PodPriority(pod)}
	if req, nonZero, ok := containerRequests(pod); ok {
		pi.Requests, pi.NonZero = req, nonZero
		return
	}
	pi.Requests = NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
	if requestsCPUAndMemory(pod) {
		// The defaults replace only missing requests: there are none.
		pi.NonZero = pi.Requests
		return
	}
	nz := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		NonMissingContainerRequests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
		},
	})
	pi.NonZero = NewResource(nz)
}

// containerRequests is the requests and non-zero requests InitPodInfo computes, for the
// common pod whose requests are those of its containers alone: no init containers, no
// overhead, no pod-level requests. component-helpers' PodRequests then adds up the
// containers' requests per resource (and, for the non-zero requests, puts the defaults in
// for a container's missing cpu or memory request); this adds them up the same way, in
// Quantities so that rounding to millicores and bytes happens on the sum as it does
// there, without the helper's maps (five allocations per pod, the most of any step of a
// scheduling cycle). ok is false, and the helper must be used, for any other pod, and for
// a pod of several containers that request extended resources.
func containerRequests(pod *corev1.Pod) (req, nonZero Resource, ok bool) {
	if len(pod.Spec.InitContainers) > 0 || len(pod.Spec.Overhead) > 0 || resourcehelper.IsPodLevelRequestsSet(pod) {
		return req, nonZero, false
	}
	var cpu, memory, ephemeral, pods resource.Quantity
	var missingCPU, missingMemory int64
	for i := range pod.Spec.Containers {
		rl := pod.Spec.Containers[i].Resources.Requests
		if _, has := rl[corev1.ResourceCPU]; !has {
			missingCPU++
		}
		if _, has := rl[corev1.ResourceMemory]; !has {
			missingMemory++
		}
		if len(pod.Spec.Containers) == 1 {
			req.Add(rl) // a single container's requests are the pod's, whatever they name
			break
		}
		for name, q := range rl {
			switch name {
			case corev1.ResourceCPU:
				cpu.Add(q)
			case corev1.ResourceMemory:
				memory.Add(q)
			case corev1.ResourceEphemeralStorage:
				ephemeral.Add(q)
			case corev1.ResourcePods:
				pods.Add(q)
			default:
				return req, nonZero, false
			}
		}
	}
	if len(pod.Spec.Containers) > 1 {
		req.MilliCPU, req.Memory = cpu.MilliValue(), memory.Value()
		req.EphemeralStorage, req.AllowedPodNumber = ephemeral.Value(), pods.Value()
	}
	// The defaults are whole millicores and bytes: adding them after rounding the sum
	// gives what rounding the sum with them would.
	nonZero = req
	nonZero.MilliCPU += missingCPU * DefaultMilliCPURequest
	nonZero.Memory += missingMemory * DefaultMemoryRequest
	return req, nonZero, true
}

// requestsCPUAndMemory reports whether every container and init container of the pod
// requests both cpu and memory, so that the scoring defaults for missing requests change
// nothing.
func requestsCPUAndMemory(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			r := cs[i].Resources.Requests
			if _, ok := r[corev1.ResourceCPU]; !ok {
				return false
			}
			if _, ok := r[corev1.ResourceMemory]; !ok {
				return false
			}
		}
	}
	return true
}

// podInfoKey is the CycleState key of the cycle's PodInfo.
const podInfoKey = "framework/PodInfo"

// PodInfoOf returns the pod's requests for this cycle, computing them once per cycle (or
// taking those the scheduler computed when the pod was queued, see SetPodInfo).
func PodInfoOf(state *CycleState, pod *corev1.Pod) *PodInfo {
	if v, ok := state.Read(podInfoKey); ok {
		if pi := v.(*PodInfo); pi.Pod == pod {
			return pi
		}
	}
	pi := NewPodInfo(pod)
	state.Write(podInfoKey, pi)
	return pi
}

// SetPodInfo stores the cycle's PodInfo.
func SetPodInfo(state *CycleState, pi *PodInfo) { state.Write(podInfoKey, pi) }

// NodeInfo is the scheduler's view of one node: the node and what its pods request.
type NodeInfo struct {
	Node        *corev1.Node
	Allocatable Resource
	Requested   Resource
	// NonZeroRequested is Requested with the scoring defaults for pods requesting nothing.
	NonZeroRequested Resource
	// Pods are the pods on the node (bound or assumed), by namespace/name.
	Pods map[string]*PodInfo
	// UsedPorts are the host ports the node's pods use, as "protocol/hostIP/port".
	UsedPorts map[string]int
	// PodsWithAffinity are the node's pods with any pod affinity or anti-affinity, and
	// PodsWithRequiredAntiAffinity those with required anti-affinity, in the order added, so
	// that InterPodAffinity looks only at them (as upstream's NodeInfo lists).
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// Generation changes whenever the node's pods or the node change.
	Generation uint64
	// unschedulable and taints copy the Node's spec.unschedulable and spec.taints, so that
	// the filters every node passes through read the NodeInfo alone.
	unschedulable bool
	taints        []corev1.Taint
	podList       []*PodInfo
	numPods       int64
	name          string
}

// NumPods returns how many pods are on the node, without touching the Pods map (hot
// filters read it for every node of every cycle).
func (n *NodeInfo) NumPods() int64 { return n.numPods }

// HasAffinity reports whether a pod has any pod affinity or anti-affinity.
func HasAffinity(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

// HasRequiredAntiAffinity reports whether a pod has required pod anti-affinity terms.
func HasRequiredAntiAffinity(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	return a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
}

func without(list []*PodInfo, pi *PodInfo) []*PodInfo {
	for i, x := range list {
		if x == pi {
			out := append(list[:i:i], list[i+1:]...)
			if len(out) == 0 {
				return nil
			}
			return out
		}
	}
	return list
}

// PodList returns the node's pods in key order (cached until the pods change). Plugins
// iterate this, never the Pods map, so that what they do does not depend on map order.
func (n *NodeInfo) PodList() []*PodInfo {
	if n.podList == nil && len(n.Pods) > 0 {
		keys := make([]string, 0, len(n.Pods))
		for k := range n.Pods {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n.podList = make([]*PodInfo, len(keys))
		for i, k := range keys {
			n.podList[i] = n.Pods[k]
		}
	}
	return n.podList
}

// PortKey is the UsedPorts key of a host port.
func PortKey(protocol corev1.Protocol, hostIP string, port int32) string {
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	if hostIP == "" {
		hostIP = "0.0.0.0"
	}
	return string(protocol) + "/" + hostIP + "/" + strconv.Itoa(int(port))
}

func (n *NodeInfo) addPorts(pod *corev1.Pod, sign int) {
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort <= 0 {
				continue
			}
			if n.UsedPorts == nil {
				n.UsedPorts = map[string]int{}
			}
			k := PortKey(p.Protocol, p.HostIP, p.HostPort)
			n.UsedPorts[k] += sign
			if n.UsedPorts[k] <= 0 {
				delete(n.UsedPorts, k)
			}
		}
	}
}

// NewNodeInfo returns the info of an empty node.
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	ni := &NodeInfo{}
	InitNodeInfo(ni, node)
	return ni
}

// InitNodeInfo makes a zero NodeInfo, allocated by the caller (in a slab, say), the info of
// node.
func InitNodeInfo(ni *NodeInfo, node *corev1.Node) {
	ni.Pods = map[string]*PodInfo{}
	ni.SetNode(node)
}

// SetNode replaces the node object (allocatable may change).
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.Generation++
	if node != nil {
		n.name = node.Name
		n.Allocatable = NewResource(node.Status.Allocatable)
		n.unschedulable = node.Spec.Unschedulable
		n.taints = node.Spec.Taints
	} else {
		n.unschedulable, n.taints = false, nil
	}
}

// Unschedulable reports the node's spec.unschedulable (cordoned), without touching the
// Node object.
func (n *NodeInfo) Unschedulable() bool { return n.unschedulable }

// Taints returns the node's spec.taints (shared: do not change them), without touching
// the Node object.
func (n *NodeInfo) Taints() []corev1.Taint { return n.taints }

// Name returns the node's name (kept in the NodeInfo, so that hot loops need not touch the
// Node object).
func (n *NodeInfo) Name() string {
	if n.Node == nil {
		return ""
	}
	return n.name
}

// AddPod accounts for a pod on the node.
func (n *NodeInfo) AddPod(key string, pi *PodInfo) {
	if old, ok := n.Pods[key]; ok {
		n.RemovePod(key, old)
	}
	n.Pods[key] = pi
	n.numPods++
	n.Requested.AddResource(&pi.Requests, 1)
	n.NonZeroRequested.AddResource(&pi.NonZero, 1)
	n.addPorts(pi.Pod, 1)
	if HasAffinity(pi.Pod) {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if HasRequiredAntiAffinity(pi.Pod) {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.podList = nil
	n.Generation++
}

// RemovePod stops accounting for a pod.
func (n *NodeInfo) RemovePod(key string, pi *PodInfo) {
	if _, ok := n.Pods[key]; !ok {
		return
	}
	delete(n.Pods, key)
	n.numPods--
	n.Requested.AddResource(&pi.Requests, -1)
	n.NonZeroRequested.AddResource(&pi.NonZero, -1)
	n.addPorts(pi.Pod, -1)
	n.PodsWithAffinity = without(n.PodsWithAffinity, pi)
	n.PodsWithRequiredAntiAffinity = without(n.PodsWithRequiredAntiAffinity, pi)
	n.podList = nil
	n.Generation++
}

// Clone returns a copy whose pod set can be changed without touching n (for preemption's
// what-if evaluations). Pod infos are shared; they are read-only.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{Node: n.Node, name: n.name, unschedulable: n.unschedulable, taints: n.taints, Allocatable: n.Allocatable, Requested: n.Requested.clone(), NonZeroRequested: n.NonZeroRequested.clone(), Pods: make(map[string]*PodInfo, len(n.Pods)), Generation: n.Generation, numPods: n.numPods,
		PodsWithAffinity: append([]*PodInfo(nil), n.PodsWithAffinity...), PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)}
	for k, v := range n.Pods {
		c.Pods[k] = v
	}
	if n.UsedPorts != nil {
		c.UsedPorts = make(map[string]int, len(n.UsedPorts))
		for k, v := range n.UsedPorts {
			c.UsedPorts[k] = v
		}
	}
	return c
}

func (r Resource) clone() Resource {
	if r.Scalar != nil {
		m := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			m[k] = v
		}
		r.Scalar = m
	}
	return r
}
