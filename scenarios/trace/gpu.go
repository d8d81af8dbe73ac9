package trace

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// How GPUs are expressed on pods and nodes (see README.md): whole GPUs are the extended
// resource nvidia.com/gpu, a share of one GPU is a pair of annotations, as Alibaba's
// GPU-sharing scheduler simulator (hkust-adsl/kubernetes-scheduler-simulator, the OpenB
// paper's artifact) writes them, and the GPU model is a node label matched by a pod
// annotation listing the allowed models.
const (
	// ResourceGPU is the extended resource of whole GPUs, on node capacity and pod requests.
	ResourceGPU corev1.ResourceName = "nvidia.com/gpu"
	// AnnotationGPUMilli is the share of each requested GPU in thousandths (1000 = a whole
	// GPU) on a GPU pod.
	AnnotationGPUMilli = "alibabacloud.com/gpu-milli"
	// AnnotationGPUCount is the number of GPUs a GPU pod requests (1 for a share).
	AnnotationGPUCount = "alibabacloud.com/gpu-count"
	// AnnotationGPUModel lists the GPU models a pod may run on, separated by "|"; absent
	// means any.
	AnnotationGPUModel = "alibabacloud.com/gpu-card-model"
	// LabelGPUModel is a node's GPU model.
	LabelGPUModel = "alibabacloud.com/gpu-card-model"
	// MilliPerGPU is a whole GPU in thousandths.
	MilliPerGPU = 1000
)

// SetGPU gives a pod a GPU request: count whole GPUs when milli is 1000 (the extended
// resource in the first container's requests and limits, plus both annotations), or a
// share of milli thousandths of one GPU when count is 1 and milli is below 1000 (the
// annotations only). models, if any, restricts the GPU models. count 0 is no GPU.
func SetGPU(pod *corev1.Pod, count, milli int64, models []string) error {
	switch {
	case count == 0 && milli == 0:
		return nil
	case count < 0 || milli <= 0 || milli > MilliPerGPU:
		return fmt.Errorf("GPU request of %d × %d milli: want a count of at least 1 and a share of 1 to %d", count, milli, MilliPerGPU)
	case count > 1 && milli != MilliPerGPU:
		return fmt.Errorf("GPU request of %d × %d milli: a share of a GPU is for one GPU only", count, milli)
	}
	if len(pod.Spec.Containers) == 0 {
		return fmt.Errorf("pod %s has no container to request GPUs", pod.Name)
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationGPUMilli] = strconv.FormatInt(milli, 10)
	pod.Annotations[AnnotationGPUCount] = strconv.FormatInt(count, 10)
	if m := joinModels(models); m != "" {
		pod.Annotations[AnnotationGPUModel] = m
	}
	if milli == MilliPerGPU {
		c := &pod.Spec.Containers[0]
		q := *resource.NewQuantity(count, resource.DecimalSI)
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		c.Resources.Requests[ResourceGPU] = q
		c.Resources.Limits[ResourceGPU] = q.DeepCopy()
	}
	return nil
}

// splitModels splits a "|"-separated list of GPU models, dropping empty entries.
func splitModels(s string) []string {
	var out []string
	for _, m := range strings.Split(s, "|") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

func joinModels(models []string) string {
	var keep []string
	for _, m := range models {
		if m != "" {
			keep = append(keep, m)
		}
	}
	return strings.Join(keep, "|")
}

// GPUMilli returns the GPU a pod requests in thousandths of a GPU: count × share from the
// annotations when present, else 1000 × the nvidia.com/gpu requests of its containers.
func GPUMilli(pod *corev1.Pod) int64 {
	if c, ok := pod.Annotations[AnnotationGPUCount]; ok {
		count, err1 := strconv.ParseInt(c, 10, 64)
		milli, err2 := strconv.ParseInt(pod.Annotations[AnnotationGPUMilli], 10, 64)
		if err1 == nil && err2 == nil && count > 0 && milli > 0 {
			return count * milli
		}
	}
	var n int64
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Requests[ResourceGPU]; ok {
			n += q.Value()
		}
	}
	return n * MilliPerGPU
}

// NodeGPUs returns the number of whole GPUs in a node's capacity.
func NodeGPUs(node *corev1.Node) int64 {
	if q, ok := node.Status.Capacity[ResourceGPU]; ok {
		return q.Value()
	}
	return 0
}

// GPUCapacity returns the number of GPUs of all nodes.
func GPUCapacity(nodes []*corev1.Node) int64 {
	var n int64
	for _, node := range nodes {
		n += NodeGPUs(node)
	}
	return n
}
