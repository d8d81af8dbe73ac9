package gpushare

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// ReasonUnexpectedAdmissionError is the reason upstream's kubelet gives when a device
// plugin cannot allocate a pod's devices.
const ReasonUnexpectedAdmissionError = "UnexpectedAdmissionError"

// Admit is the kubelet's check of a GPU pod against the pods it already admitted, as the
// GPU-sharing device plugin's allocation would make it: the node's GPUs are of a model the
// pod allows; the GPUs its alibabacloud.com/gpu-index names exist, are distinct, as many
// as it asks for, and keep their share of the others' within 1000 thousandths each; and
// the thousandths asked by all GPU pods fit the node's GPUs (a pod bound without an index
// is held to this total only). It returns upstream's reason and message ("Allocate
// failed due to …, which is unexpected"), or "" when the pod fits.
func Admit(pod *corev1.Pod, node *corev1.Node, admitted []*corev1.Pod) (string, string) {
	r, err := RequestOf(pod)
	if err != nil {
		return unexpected(err.Error())
	}
	if r.None() {
		return "", ""
	}
	var gpus int64
	if q, ok := node.Status.Allocatable[ResourceGPU]; ok {
		gpus = q.Value()
	} else if q, ok := node.Status.Capacity[ResourceGPU]; ok {
		gpus = q.Value()
	}
	model := node.Labels[LabelGPUModel]
	if !r.Allows(model) {
		return unexpected(fmt.Sprintf("GPU model %q is not one of %q", model, r.ModelSpec))
	}
	used := make([]int64, gpus)
	var total int64
	for _, p := range admitted {
		pr, err := RequestOf(p)
		if err != nil || pr.None() {
			continue
		}
		total += pr.Total()
		if idx, ok, err := IndexOf(p); ok && err == nil && len(idx) == pr.Count {
			for _, g := range idx {
				if g < len(used) {
					used[g] += pr.Milli
				}
			}
		}
	}
	if total+r.Total() > gpus*MilliPerGPU {
		return unexpected(fmt.Sprintf("requested %d thousandths of a GPU, used: %d, capacity: %d", r.Total(), total, gpus*MilliPerGPU))
	}
	idx, ok, err := IndexOf(pod)
	if err != nil {
		return unexpected(err.Error())
	}
	if !ok {
		return "", ""
	}
	if len(idx) != r.Count {
		return unexpected(fmt.Sprintf("%s %q names %d GPUs, the pod requests %d", AnnotationGPUIndex, FormatIndex(idx), len(idx), r.Count))
	}
	for k, g := range idx {
		if g >= len(used) {
			return unexpected(fmt.Sprintf("GPU %d does not exist: the node has %d", g, gpus))
		}
		for _, h := range idx[:k] {
			if h == g {
				return unexpected(fmt.Sprintf("%s %q names GPU %d twice", AnnotationGPUIndex, FormatIndex(idx), g))
			}
		}
		if used[g]+r.Milli > MilliPerGPU {
			return unexpected(fmt.Sprintf("GPU %d has %d of %d thousandths free, requested %d", g, MilliPerGPU-used[g], MilliPerGPU, r.Milli))
		}
	}
	return "", ""
}

func unexpected(msg string) (string, string) {
	return ReasonUnexpectedAdmissionError, fmt.Sprintf("Allocate failed due to %s, which is unexpected", msg)
}
