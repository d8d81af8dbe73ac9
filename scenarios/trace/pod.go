package trace

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults of the pods and nodes importers build.
const (
	// DefaultImage is the container image of imported pods.
	DefaultImage = "registry.k8s.io/pause:3.10"
	// DefaultMaxPods is the pods capacity of imported nodes (the kubelet's default).
	DefaultMaxPods = 110
	// ContainerName is the name of an imported pod's only container.
	ContainerName = "main"
)

// Labels and annotations importers put on pods.
const (
	// LabelQoS carries a trace's own QoS or priority tier (OpenB's qos column).
	LabelQoS = "orrery.dev/qos"
	// AnnotationTracePhase records the phase the trace reports for a pod (OpenB's
	// pod_phase, v2018's status).
	AnnotationTracePhase = "orrery.dev/trace-phase"
	// AnnotationTraceID records a pod's identity in the trace when it had to be renamed.
	AnnotationTraceID = "orrery.dev/trace-id"
	// AnnotationTraceMachine records the machine a trace ran a pod on (not a binding).
	AnnotationTraceMachine = "orrery.dev/trace-machine"
)

// PodOptions are what all pods of an import share.
type PodOptions struct {
	// Namespace of the pods; "default" if empty.
	Namespace string
	// Image of the pods' container; DefaultImage if empty.
	Image string
}

func (o PodOptions) namespace() string {
	if o.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return o.Namespace
}

func (o PodOptions) image() string {
	if o.Image == "" {
		return DefaultImage
	}
	return o.Image
}

// NewPod returns a pod with one container that requests, and is limited to, requests
// (so CPU and memory make it Guaranteed, as the OpenB paper's simulator builds pods).
func NewPod(name string, opts PodOptions, requests corev1.ResourceList) *corev1.Pod {
	req := corev1.ResourceList{}
	for k, v := range requests {
		req[k] = v.DeepCopy()
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.namespace()},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:      ContainerName,
			Image:     opts.image(),
			Resources: corev1.ResourceRequirements{Requests: req, Limits: req.DeepCopy()},
		}}},
	}
}

// NewNode returns a node with the given capacity (allocatable the same, pods defaulting
// to maxPods or DefaultMaxPods) and the well-known hostname, OS and architecture labels
// plus labels.
func NewNode(name string, capacity corev1.ResourceList, labels map[string]string, maxPods int64) *corev1.Node {
	if maxPods <= 0 {
		maxPods = DefaultMaxPods
	}
	n := &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
	}
	for k, v := range labels {
		n.Labels[k] = v
	}
	n.Labels[corev1.LabelHostname] = name
	n.Labels[corev1.LabelOSStable] = "linux"
	n.Labels[corev1.LabelArchStable] = "amd64"
	n.Status.Capacity = corev1.ResourceList{}
	for k, v := range capacity {
		n.Status.Capacity[k] = v.DeepCopy()
	}
	if _, ok := n.Status.Capacity[corev1.ResourcePods]; !ok {
		n.Status.Capacity[corev1.ResourcePods] = *resource.NewQuantity(maxPods, resource.DecimalSI)
	}
	n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	return n
}

func milliCPU(m int64) resource.Quantity { return *resource.NewMilliQuantity(m, resource.DecimalSI) }

func mebibytes(m int64) resource.Quantity {
	return *resource.NewQuantity(m*1024*1024, resource.BinarySI)
}
