// Package gputest builds GPU nodes and pods, and small clusters of them, for the tests of
// the GPU-sharing plugins.
package gputest

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/framework/fake"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Node returns a node with cpu millicores, gpus GPUs of model (no label if model is ""),
// 1Ti of memory and room for 110 pods.
func Node(name, model string, gpus int, cpu int64) *corev1.Node {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
		corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	if gpus > 0 {
		rl[gpushare.ResourceGPU] = *resource.NewQuantity(int64(gpus), resource.DecimalSI)
	}
	n := fake.Node(name, nil)
	if model != "" {
		n.Labels[gpushare.LabelGPUModel] = model
	}
	n.Status.Capacity, n.Status.Allocatable = rl, rl.DeepCopy()
	return n
}

// Pod returns a pod in namespace default with cpu millicores asking for count GPUs of
// milli thousandths each (whole GPUs also as nvidia.com/gpu), of one of models if any.
func Pod(name string, cpu int64, count int, milli int64, models ...string) *corev1.Pod {
	req := corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI)}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{Requests: req, Limits: req.DeepCopy()}}}},
	}
	if count > 0 {
		p.Annotations[gpushare.AnnotationGPUCount] = strconv.Itoa(count)
		p.Annotations[gpushare.AnnotationGPUMilli] = strconv.FormatInt(milli, 10)
		if milli == gpushare.MilliPerGPU {
			q := *resource.NewQuantity(int64(count), resource.DecimalSI)
			p.Spec.Containers[0].Resources.Requests[gpushare.ResourceGPU] = q
			p.Spec.Containers[0].Resources.Limits[gpushare.ResourceGPU] = q
		}
	}
	if len(models) > 0 {
		p.Annotations[gpushare.AnnotationGPUModel] = strings.Join(models, "|")
	}
	return p
}

// On binds a copy of pod to node holding the GPUs idx (no index annotation if none).
func On(pod *corev1.Pod, node string, idx ...int) *corev1.Pod {
	p := pod.DeepCopy()
	p.Spec.NodeName = node
	if len(idx) > 0 {
		p.Annotations[gpushare.AnnotationGPUIndex] = gpushare.FormatIndex(idx)
	}
	return p
}

// Info returns a NodeInfo of node with pods on it.
func Info(node *corev1.Node, pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(node)
	for _, p := range pods {
		ni.AddPod(p.Namespace+"/"+p.Name, framework.NewPodInfo(p))
	}
	return ni
}

// Cluster returns a handle over the nodes with the pods bound to them, binding through
// client.
func Cluster(client framework.Client, nodes []*corev1.Node, pods ...*corev1.Pod) *Handle {
	return &Handle{Handle: fake.Cluster(nodes, pods, nil), client: client}
}

// Handle is a fake.Handle with a client.
type Handle struct {
	*fake.Handle
	client framework.Client
}

// Client returns the client given to Cluster.
func (h *Handle) Client() framework.Client { return h.client }

// Client records bindings.
type Client struct {
	Bindings []*corev1.Binding
}

// Bind records b.
func (c *Client) Bind(b *corev1.Binding) error {
	c.Bindings = append(c.Bindings, b)
	return nil
}

// DeletePod does nothing.
func (c *Client) DeletePod(_, _ string) error { return nil }

// UpdatePodStatus does nothing.
func (c *Client) UpdatePodStatus(_ *corev1.Pod) error { return nil }
