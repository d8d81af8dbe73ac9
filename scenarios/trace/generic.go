package trace

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The generic CSV format's columns (see README.md).
var (
	genericColumns  = []string{"arrival", "duration", "cpu", "memory", "gpu", "priority", "labels", "name", "namespace", "gpu_model"}
	genericRequired = []string{"arrival", "cpu", "memory"}
)

// ReadGeneric reads the generic CSV format: a header naming the columns, then one pod per
// line with its arrival and duration (Go durations; an empty duration stays until the
// end), cpu, memory and gpu (Kubernetes quantities; a gpu below 1 is a share of one GPU),
// priority (a PriorityClass name), labels (k=v;k=v) and name (pod-N, N the data row, if
// empty). Lines starting with # are comments. opts gives the namespace (unless a
// namespace column does) and image.
func ReadGeneric(file string, r io.Reader, opts PodOptions) ([]Arrival, error) {
	t, err := openTable(file, r, genericColumns, genericRequired, '#')
	if err != nil {
		return nil, err
	}
	var out []Arrival
	seen := map[string]int{}
	for row := 1; ; row++ {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		a, err := genericRow(t, row, opts, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	Sort(out)
	return out, nil
}

func genericRow(t *table, row int, opts PodOptions, seen map[string]int) (Arrival, error) {
	at, ok, err := t.duration("arrival")
	if err == nil && !ok {
		err = t.errorf("arrival", "expected the arrival time as a Go duration such as 90s, got an empty field")
	}
	if err != nil {
		return Arrival{}, err
	}
	life, _, err := t.duration("duration")
	if err != nil {
		return Arrival{}, err
	}
	requests := corev1.ResourceList{}
	for _, c := range []struct {
		col  string
		name corev1.ResourceName
	}{{"cpu", corev1.ResourceCPU}, {"memory", corev1.ResourceMemory}} {
		q, ok, err := t.quantity(c.col)
		if err != nil {
			return Arrival{}, err
		}
		if ok && !q.IsZero() {
			requests[c.name] = q
		}
	}
	name := t.str("name")
	if name == "" {
		name = fmt.Sprintf("pod-%d", row)
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return Arrival{}, t.errorf("name", "expected a pod name (a DNS-1123 subdomain), got %q: %s", name, strings.Join(msgs, "; "))
	}
	if ns := t.str("namespace"); ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return Arrival{}, t.errorf("namespace", "expected a namespace (a DNS-1123 label), got %q: %s", ns, strings.Join(msgs, "; "))
		}
		opts.Namespace = ns
	}
	key := opts.namespace() + "/" + name
	if prev, dup := seen[key]; dup {
		return Arrival{}, t.errorf("name", "pod %q appears twice (first on line %d)", key, prev)
	}
	seen[key] = t.line()
	pod := NewPod(name, opts, requests)
	if err := genericGPU(t, pod); err != nil {
		return Arrival{}, err
	}
	if p := t.str("priority"); p != "" {
		if msgs := validation.IsDNS1123Subdomain(p); len(msgs) > 0 {
			return Arrival{}, t.errorf("priority", "expected a PriorityClass name, got %q: %s", p, strings.Join(msgs, "; "))
		}
		pod.Spec.PriorityClassName = p
	}
	labels, err := genericLabels(t)
	if err != nil {
		return Arrival{}, err
	}
	pod.Labels = labels
	return Arrival{At: at, Pod: pod, Lifetime: life}, nil
}

// genericGPU reads the gpu column: whole GPUs, or a share of one below 1.
func genericGPU(t *table, pod *corev1.Pod) error {
	q, ok, err := t.quantity("gpu")
	if err != nil || !ok || q.IsZero() {
		return err
	}
	var count, milli int64
	one := resource.MustParse("1")
	switch {
	case q.Cmp(one) < 0:
		count, milli = 1, q.MilliValue()
		if milli == 0 {
			return t.errorf("gpu", "expected at least 1m of a GPU, got %q", t.str("gpu"))
		}
	case q.MilliValue()%MilliPerGPU == 0:
		count, milli = q.Value(), MilliPerGPU
	default:
		return t.errorf("gpu", "expected a whole number of GPUs or a share below 1 (such as 500m), got %q", t.str("gpu"))
	}
	models := splitModels(t.str("gpu_model"))
	for _, m := range models {
		if msgs := validation.IsValidLabelValue(m); len(msgs) > 0 {
			return t.errorf("gpu_model", "expected GPU models separated by |, got %q: %s", t.str("gpu_model"), strings.Join(msgs, "; "))
		}
	}
	if err := SetGPU(pod, count, milli, models); err != nil {
		return t.errorf("gpu", "%v", err)
	}
	return nil
}

// genericLabels reads the labels column, k=v;k=v.
func genericLabels(t *table) (map[string]string, error) {
	s := t.str("labels")
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, t.errorf("labels", "expected labels as key=value;key=value, got %q", kv)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			return nil, t.errorf("labels", "expected a label key, got %q: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			return nil, t.errorf("labels", "expected a label value for %q, got %q: %s", k, v, strings.Join(msgs, "; "))
		}
		if _, dup := out[k]; dup {
			return nil, t.errorf("labels", "label %q is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// LoadGeneric reads a generic CSV file.
func LoadGeneric(file string, opts PodOptions) (*Workload, error) {
	w := &Workload{}
	err := openFile(file, func(r io.Reader) (err error) {
		w.Arrivals, err = ReadGeneric(file, r, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}
