// Package gpushare is GPU sharing for the scheduler: a node's GPUs are its nvidia.com/gpu
// capacity, of the model in its label, each with a free share in thousandths (milli); a
// pod asks for whole GPUs or a share of one, optionally of some models only. The GPUShare
// plugin keeps which pod holds which share of which GPU (Reserve), rejects nodes without
// room (Filter), and binds GPU pods with the GPUs chosen, as the annotation
// alibabacloud.com/gpu-index, which the kubelet checks (Admit). Score plugins (the
// fragmentation-aware policies) read the same per-node view (NodeOf) and decide which GPUs
// a pod gets on the node they prefer (SetChooser).
//
// The expression follows Alibaba's GPU-sharing scheduler simulator
// (hkust-adsl/kubernetes-scheduler-simulator, the artifact of Weng et al., "Beware of
// Fragmentation", USENIX ATC'23), whose annotation names are kept.
package gpushare

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// How GPUs are expressed on pods and nodes.
const (
	// ResourceGPU is the extended resource of whole GPUs, on node capacity and pod requests.
	ResourceGPU corev1.ResourceName = "nvidia.com/gpu"
	// AnnotationGPUMilli is the share of each requested GPU in thousandths on a GPU pod.
	AnnotationGPUMilli = "alibabacloud.com/gpu-milli"
	// AnnotationGPUCount is the number of GPUs a GPU pod requests (1 for a share).
	AnnotationGPUCount = "alibabacloud.com/gpu-count"
	// AnnotationGPUModel lists the GPU models a pod may run on, separated by "|".
	AnnotationGPUModel = "alibabacloud.com/gpu-card-model"
	// LabelGPUModel is a node's GPU model.
	LabelGPUModel = "alibabacloud.com/gpu-card-model"
	// AnnotationGPUIndex lists the GPUs a bound pod holds, by index on its node, separated
	// by "-" ("3", "0-1-2-3"); the scheduler sets it through the binding.
	AnnotationGPUIndex = "alibabacloud.com/gpu-index"
	// MilliPerGPU is a whole GPU in thousandths.
	MilliPerGPU int64 = 1000
)

// Request is what a pod asks of a node's GPUs: Count GPUs with Milli thousandths free on
// each (1000 for whole GPUs; below 1000 only with Count 1), of one of Models (any if none).
type Request struct {
	Count  int
	Milli  int64
	Models []string
	// ModelSpec is the annotation as written ("" for any model).
	ModelSpec string
}

// None reports a request for no GPU.
func (r Request) None() bool { return r.Count == 0 }

// Share reports a request for part of one GPU.
func (r Request) Share() bool { return r.Count == 1 && r.Milli < MilliPerGPU }

// Total is the request in thousandths of a GPU (Count × Milli).
func (r Request) Total() int64 { return int64(r.Count) * r.Milli }

// Allows reports whether a node with GPUs of model may serve the request: any model when
// the request names none, else one of those named (a node without a model serves none).
func (r Request) Allows(model string) bool {
	if len(r.Models) == 0 {
		return true
	}
	for _, m := range r.Models {
		if m == model {
			return model != ""
		}
	}
	return false
}

// Kind is the request's GPU affinity class as the artifact names it: "no-gpu",
// "share-gpu" or "N-gpu" for N whole GPUs.
func (r Request) Kind() string {
	switch {
	case r.None():
		return "no-gpu"
	case r.Share():
		return "share-gpu"
	default:
		return strconv.Itoa(r.Count) + "-gpu"
	}
}

// RequestOf reads a pod's GPU request: the annotations alibabacloud.com/gpu-count and
// gpu-milli when present, else nvidia.com/gpu whole GPUs from the containers' requests, and
// the allowed models from alibabacloud.com/gpu-card-model. A pod asking for nothing has
// the zero Request.
func RequestOf(pod *corev1.Pod) (Request, error) {
	var r Request
	if spec := pod.Annotations[AnnotationGPUModel]; spec != "" {
		r.ModelSpec = spec
		for _, m := range strings.Split(spec, "|") {
			if m = strings.TrimSpace(m); m != "" {
				r.Models = append(r.Models, m)
			}
		}
	}
	c, hasCount := pod.Annotations[AnnotationGPUCount]
	m, hasMilli := pod.Annotations[AnnotationGPUMilli]
	if !hasCount && !hasMilli {
		var n int64
		for i := range pod.Spec.Containers {
			if q, ok := pod.Spec.Containers[i].Resources.Requests[ResourceGPU]; ok {
				n += q.Value()
			}
		}
		if n > 0 {
			r.Count, r.Milli = int(n), MilliPerGPU
		}
		return r, nil
	}
	count, err := strconv.Atoi(c)
	if !hasCount || err != nil || count < 0 {
		return Request{}, fmt.Errorf("annotation %s: want a number of GPUs, got %q", AnnotationGPUCount, c)
	}
	milli, err := strconv.ParseInt(m, 10, 64)
	if !hasMilli || err != nil || milli < 0 || milli > MilliPerGPU {
		return Request{}, fmt.Errorf("annotation %s: want thousandths of a GPU from 0 to %d, got %q", AnnotationGPUMilli, MilliPerGPU, m)
	}
	switch {
	case count == 0 && milli == 0:
		return Request{Models: r.Models, ModelSpec: r.ModelSpec}, nil
	case count == 0 || milli == 0:
		return Request{}, fmt.Errorf("annotations %s %q and %s %q: a GPU request needs both above 0", AnnotationGPUCount, c, AnnotationGPUMilli, m)
	case count > 1 && milli != MilliPerGPU:
		return Request{}, fmt.Errorf("annotations %s %q and %s %q: a share of a GPU is for one GPU only", AnnotationGPUCount, c, AnnotationGPUMilli, m)
	}
	r.Count, r.Milli = count, milli
	return r, nil
}

// IndexOf reads the GPUs a pod holds from alibabacloud.com/gpu-index; ok is false when
// the pod has none.
func IndexOf(pod *corev1.Pod) (idx []int, ok bool, err error) {
	s, ok := pod.Annotations[AnnotationGPUIndex]
	if !ok {
		return nil, false, nil
	}
	idx, err = ParseIndex(s)
	return idx, true, err
}

// ParseIndex parses a list of GPU indices such as "0-1-3".
func ParseIndex(s string) ([]int, error) {
	parts := strings.Split(s, "-")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("annotation %s: want GPU indices separated by \"-\", got %q", AnnotationGPUIndex, s)
		}
		out = append(out, i)
	}
	return out, nil
}

// FormatIndex writes GPU indices as alibabacloud.com/gpu-index has them ("0-1-3").
func FormatIndex(idx []int) string {
	var b strings.Builder
	for i, g := range idx {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(g))
	}
	return b.String()
}
