package kubelet

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	schednodeaffinity "github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeaffinity"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodename"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeports"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/tainttoleration"
)

// Admission rejection reasons, as upstream's kubelet reports them; a failed predicate's
// reason is the scheduler plugin's name (NodeAffinity, NodeName, NodePorts,
// TaintToleration).
const (
	ReasonOutOfCPU                           = "OutOfcpu"
	ReasonOutOfMemory                        = "OutOfmemory"
	ReasonOutOfEphemeralStorage              = "OutOfephemeral-storage"
	ReasonOutOfPods                          = "OutOfpods"
	ReasonPodOSSelectorNodeLabelDoesNotMatch = "PodOSSelectorNodeLabelDoesNotMatch"
	ReasonPodOSNotSupported                  = "PodOSNotSupported"
	ReasonInvalidNodeInfo                    = "InvalidNodeInfo"
)

// NodeOS is the operating system every simulated node runs.
const NodeOS = "linux"

// errReasonUntoleratedTaint is upstream's tainttoleration.ErrReasonNotMatch, the
// kubelet's text for an untolerated NoExecute taint.
const errReasonUntoleratedTaint = "node(s) had taints that the pod didn't tolerate"

// admit runs upstream's admission handlers on a pod new to the node: the eviction
// manager's (no BestEffort pods under memory pressure, none under disk pressure), then
// the predicates (OS, resources next to the pods already admitted, node affinity and
// selector, node name, host ports, NoExecute taints). It returns the first failure's
// reason and message, or "".
func (k *Kubelet) admit(pod *corev1.Pod) (string, string) {
	if reason, msg := k.eviction.admit(pod); reason != "" {
		return reason, msg
	}
	node := k.node()
	if os, ok := pod.Labels[corev1.LabelOSStable]; ok && os != NodeOS {
		return ReasonPodOSSelectorNodeLabelDoesNotMatch, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != NodeOS {
		return ReasonPodOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS"
	}
	ni := framework.NewNodeInfo(node)
	k.pods.Range(func(obj runtime.Object) bool {
		p := obj.(*corev1.Pod)
		if w := k.workers[informer.Key(p)]; p.UID != pod.UID && w != nil && w.uid == p.UID && !w.terminal {
			ni.AddPod(informer.Key(p), framework.NewPodInfo(p))
		}
		return true
	})
	// The device plugins' allocation (here the GPU-sharing one) comes before the
	// predicates, as upstream's resource allocation admit handler does.
	if reason, msg := gpuShare(pod, node, ni); reason != "" {
		return reason, msg
	}
	if reason, msg := insufficientResource(pod, ni); reason != "" {
		return reason, msg
	}
	predicate := func(name, desc string) (string, string) {
		return name, fmt.Sprintf("Predicate %s failed: %s", name, desc)
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return predicate(schednodeaffinity.Name, schednodeaffinity.ErrReasonPod)
	}
	if !nodename.Fits(pod, ni) {
		return predicate(nodename.Name, nodename.ReasonMismatch)
	}
	if st := (nodeports.NodePorts{}).Filter(framework.NewCycleState(), pod, ni); !st.IsSuccess() {
		return predicate(nodeports.Name, nodeports.ErrReason)
	}
	if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}); untolerated && !isStaticPod(pod) {
		return predicate(tainttoleration.Name, errReasonUntoleratedTaint)
	}
	return "", ""
}

// gpuShare checks a GPU pod's share of the node's GPUs next to the admitted pods (see
// gpushare.Admit).
func gpuShare(pod *corev1.Pod, node *corev1.Node, ni *framework.NodeInfo) (string, string) {
	if _, ok := pod.Annotations[gpushare.AnnotationGPUCount]; !ok {
		return "", ""
	}
	admitted := make([]*corev1.Pod, 0, ni.NumPods())
	for _, pi := range ni.PodList() {
		admitted = append(admitted, pi.Pod)
	}
	return gpushare.Admit(pod, node, admitted)
}

// isStaticPod reports a pod from a file or URL rather than the API server.
func isStaticPod(pod *corev1.Pod) bool {
	src, ok := pod.Annotations["kubernetes.io/config.source"]
	return ok && src != "api"
}

// node is the kubelet's Node as the API server has it now (labels and taints change at
// run time), or its configured object if it cannot be read; allocatable defaults to
// capacity.
func (k *Kubelet) node() *corev1.Node {
	node := k.cfg.Node
	if obj, err := k.client.Get("nodes", "", k.name); err == nil {
		node = obj.(*corev1.Node)
	}
	if node.Status.Allocatable == nil {
		node = node.DeepCopy()
		node.Status.Allocatable = node.Status.Capacity.DeepCopy()
	}
	return node
}

// insufficientResource is the first resource the pod does not fit next to the admitted
// pods, as upstream's noderesources.Fits orders them: pods, cpu, memory,
// ephemeral-storage, then extended resources by name.
func insufficientResource(pod *corev1.Pod, ni *framework.NodeInfo) (string, string) {
	alloc, used := &ni.Allocatable, &ni.Requested
	fail := func(name corev1.ResourceName, requested, used, capacity int64) (string, string) {
		reason := "OutOf" + string(name)
		return reason, fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity)
	}
	if alloc.AllowedPodNumber > 0 && ni.NumPods()+1 > alloc.AllowedPodNumber {
		return fail(corev1.ResourcePods, 1, ni.NumPods(), alloc.AllowedPodNumber)
	}
	req := framework.NewPodInfo(pod).Requests
	if req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		return fail(corev1.ResourceCPU, req.MilliCPU, used.MilliCPU, alloc.MilliCPU)
	}
	if req.Memory > 0 && req.Memory > alloc.Memory-used.Memory {
		return fail(corev1.ResourceMemory, req.Memory, used.Memory, alloc.Memory)
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		return fail(corev1.ResourceEphemeralStorage, req.EphemeralStorage, used.EphemeralStorage, alloc.EphemeralStorage)
	}
	names := make([]string, 0, len(req.Scalar))
	for name := range req.Scalar {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, n := range names {
		name := corev1.ResourceName(n)
		if r := req.Scalar[name]; r > 0 && r > alloc.Scalar[name]-used.Scalar[name] {
			return fail(name, r, used.Scalar[name], alloc.Scalar[name])
		}
	}
	return "", ""
}

// reject fails a pod the kubelet did not admit, as upstream's rejectPod: a Warning event
// with the reason and message, and status Failed with "Pod was rejected: " before it.
func (k *Kubelet) reject(pod *corev1.Pod, reason, msg string) {
	next := pod.DeepCopy()
	next.Status.Phase = corev1.PodFailed
	next.Status.Reason = reason
	next.Status.Message = "Pod was rejected: " + msg
	_, _ = k.client.UpdateStatus(next)
	_ = k.recorder.Event(pod, corev1.EventTypeWarning, reason, msg)
	k.log.Action(k.user, reason, "pods", pod.Namespace, pod.Name, next.Status.Message)
}
