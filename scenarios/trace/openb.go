package trace

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The columns of OpenB's node and pod lists (alibaba/clusterdata cluster-trace-gpu-v2023).
var (
	openBNodeColumns  = []string{"sn", "cpu_milli", "memory_mib", "gpu", "model"}
	openBNodeRequired = []string{"sn", "cpu_milli", "memory_mib", "gpu"}
	openBPodColumns   = []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"}
	openBPodRequired  = []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"}
)

// OpenBOptions shape an OpenB import.
type OpenBOptions struct {
	PodOptions
	// MaxPods is the pods capacity of every node; DefaultMaxPods if 0.
	MaxPods int64
	// PriorityClasses maps a qos value (LS, BE, Burstable, Guaranteed) to the
	// priorityClassName its pods get; a qos not in the map gets none.
	PriorityClasses map[string]string
	// SkipUnscheduled drops the pods the trace never scheduled (pod_phase Pending, or an
	// empty scheduled_time).
	SkipUnscheduled bool
	// Interval spaces the arrivals of a pod list without creation_time (the multigpu
	// files), in file order; 1s if 0.
	Interval time.Duration
}

// maxMilli bounds CPU and memory columns (a petabyte of MiB, a million cores).
const maxMilli = 1 << 40

// ReadOpenBNodes reads an OpenB node list (sn,cpu_milli,memory_mib,gpu,model) into
// nodes: capacity cpu, memory, pods and nvidia.com/gpu (when gpu > 0), and the label
// alibabacloud.com/gpu-card-model when model is set.
func ReadOpenBNodes(file string, r io.Reader, opts OpenBOptions) ([]*corev1.Node, error) {
	t, err := openTable(file, r, openBNodeColumns, openBNodeRequired, 0)
	if err != nil {
		return nil, err
	}
	var nodes []*corev1.Node
	seen := map[string]int{}
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nodes, nil
		}
		name := t.str("sn")
		if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
			return nil, t.errorf("sn", "expected a node name (a DNS-1123 subdomain), got %q: %s", name, strings.Join(msgs, "; "))
		}
		if prev, dup := seen[name]; dup {
			return nil, t.errorf("sn", "node %q appears twice (first on line %d)", name, prev)
		}
		seen[name] = t.line()
		cpu, err := t.int("cpu_milli", 1, maxMilli, -1)
		if err == nil && cpu < 0 {
			err = t.errorf("cpu_milli", "expected the node's CPU in millicores, got an empty field")
		}
		if err != nil {
			return nil, err
		}
		mem, err := t.int("memory_mib", 1, maxMilli, -1)
		if err == nil && mem < 0 {
			err = t.errorf("memory_mib", "expected the node's memory in MiB, got an empty field")
		}
		if err != nil {
			return nil, err
		}
		gpus, err := t.int("gpu", 0, 1<<20, 0)
		if err != nil {
			return nil, err
		}
		capacity := corev1.ResourceList{corev1.ResourceCPU: milliCPU(cpu), corev1.ResourceMemory: mebibytes(mem)}
		if gpus > 0 {
			capacity[ResourceGPU] = *resource.NewQuantity(gpus, resource.DecimalSI)
		}
		labels := map[string]string{}
		if model := t.str("model"); model != "" {
			if msgs := validation.IsValidLabelValue(model); len(msgs) > 0 {
				return nil, t.errorf("model", "expected a GPU model usable as a label value, got %q: %s", model, strings.Join(msgs, "; "))
			}
			labels[LabelGPUModel] = model
		}
		nodes = append(nodes, NewNode(name, capacity, labels, opts.MaxPods))
	}
}

// ReadOpenBPods reads an OpenB pod list into arrivals (see README.md): requests and
// limits from cpu_milli and memory_mib, GPUs by SetGPU from num_gpu, gpu_milli and
// gpu_spec, the qos as label orrery.dev/qos (and a priority class if mapped), pod_phase
// as annotation orrery.dev/trace-phase. Arrivals are at creation_time (seconds from the
// trace's start), departures at deletion_time when later than creation_time; a file without
// creation_time arrives one pod per Interval in file order and never departs.
func ReadOpenBPods(file string, r io.Reader, opts OpenBOptions) ([]Arrival, error) {
	t, err := openTable(file, r, openBPodColumns, openBPodRequired, 0)
	if err != nil {
		return nil, err
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timed := t.has("creation_time")
	var out []Arrival
	seen := map[string]int{}
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		a, skip, err := openBPod(t, opts, seen)
		if err != nil {
			return nil, err
		}
		if !timed {
			if !skip {
				a.At = time.Duration(len(out)) * interval
				out = append(out, a)
			}
			continue
		}
		c, err := t.int("creation_time", 0, math.MaxInt64/int64(time.Second), -1)
		if err == nil && c < 0 {
			err = t.errorf("creation_time", "expected the creation time in seconds, got an empty field")
		}
		if err != nil {
			return nil, err
		}
		d, err := t.int("deletion_time", 0, math.MaxInt64/int64(time.Second), -1)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		a.At = seconds(c)
		if d > c {
			a.Lifetime = seconds(d - c)
		}
		out = append(out, a)
	}
	Sort(out)
	return out, nil
}

// openBPod builds the current record's pod; skip reports a pod opts drop.
func openBPod(t *table, opts OpenBOptions, seen map[string]int) (Arrival, bool, error) {
	name := t.str("name")
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return Arrival{}, false, t.errorf("name", "expected a pod name (a DNS-1123 subdomain), got %q: %s", name, strings.Join(msgs, "; "))
	}
	if prev, dup := seen[name]; dup {
		return Arrival{}, false, t.errorf("name", "pod %q appears twice (first on line %d)", name, prev)
	}
	seen[name] = t.line()
	cpu, err := t.int("cpu_milli", 0, maxMilli, 0)
	if err != nil {
		return Arrival{}, false, err
	}
	mem, err := t.int("memory_mib", 0, maxMilli, 0)
	if err != nil {
		return Arrival{}, false, err
	}
	count, err := t.int("num_gpu", 0, 1<<20, 0)
	if err != nil {
		return Arrival{}, false, err
	}
	milli, err := t.int("gpu_milli", 0, MilliPerGPU, 0)
	if err != nil {
		return Arrival{}, false, err
	}
	switch {
	case count == 0 && milli != 0:
		return Arrival{}, false, t.errorf("gpu_milli", "expected 0 for a pod with num_gpu 0, got %d", milli)
	case count > 0 && milli == 0:
		return Arrival{}, false, t.errorf("gpu_milli", "expected a share of 1 to 1000 for a pod with num_gpu %d, got 0", count)
	case count > 1 && milli != MilliPerGPU:
		return Arrival{}, false, t.errorf("gpu_milli", "expected 1000 for a pod with num_gpu %d (only a single GPU is shared), got %d", count, milli)
	}
	requests := corev1.ResourceList{}
	if cpu > 0 {
		requests[corev1.ResourceCPU] = milliCPU(cpu)
	}
	if mem > 0 {
		requests[corev1.ResourceMemory] = mebibytes(mem)
	}
	pod := NewPod(name, opts.PodOptions, requests)
	spec := t.str("gpu_spec")
	if err := SetGPU(pod, count, milli, splitModels(spec)); err != nil {
		return Arrival{}, false, t.errorf("num_gpu", "%v", err)
	}
	if m := pod.Annotations[AnnotationGPUModel]; m != "" {
		for _, part := range splitModels(m) {
			if msgs := validation.IsValidLabelValue(part); len(msgs) > 0 {
				return Arrival{}, false, t.errorf("gpu_spec", "expected GPU models separated by |, got %q: %s", spec, strings.Join(msgs, "; "))
			}
		}
	}
	if qos := t.str("qos"); qos != "" {
		if msgs := validation.IsValidLabelValue(qos); len(msgs) > 0 {
			return Arrival{}, false, t.errorf("qos", "expected a QoS tier such as LS or BE, got %q: %s", qos, strings.Join(msgs, "; "))
		}
		pod.Labels = map[string]string{LabelQoS: qos}
		pod.Spec.PriorityClassName = opts.PriorityClasses[qos]
	}
	phase := t.str("pod_phase")
	if phase != "" {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[AnnotationTracePhase] = phase
	}
	neverRan := phase == string(corev1.PodPending) || t.has("scheduled_time") && t.str("scheduled_time") == ""
	return Arrival{Pod: pod}, opts.SkipUnscheduled && neverRan, nil
}

// LoadOpenB reads an OpenB node list and pod list from files; nodeFile may be empty for
// arrivals only.
func LoadOpenB(nodeFile, podFile string, opts OpenBOptions) (*Workload, error) {
	w := &Workload{}
	if nodeFile != "" {
		err := openFile(nodeFile, func(r io.Reader) (err error) {
			w.Nodes, err = ReadOpenBNodes(nodeFile, r, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	err := openFile(podFile, func(r io.Reader) (err error) {
		w.Arrivals, err = ReadOpenBPods(podFile, r, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// errNoDemand is returned when sampling to a target cannot make progress.
var errNoDemand = fmt.Errorf("no pod of the pool requests any of the resource")
