package trace

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// describe renders an arrival compactly for pinning: time and lifetime in seconds, name,
// requests, limits (when they differ), annotations, labels and priority class.
func describe(a Arrival) string {
	c := a.Pod.Spec.Containers[0]
	s := fmt.Sprintf("%s %s/%s life=%s req=%s", secs(a.At), a.Pod.Namespace, a.Pod.Name, secs(a.Lifetime), resources(c.Resources.Requests))
	if lim := resources(c.Resources.Limits); lim != resources(c.Resources.Requests) {
		s += " lim=" + lim
	}
	if len(a.Pod.Annotations) > 0 {
		s += " ann=" + pairs(a.Pod.Annotations)
	}
	if len(a.Pod.Labels) > 0 {
		s += " labels=" + pairs(a.Pod.Labels)
	}
	if a.Pod.Spec.PriorityClassName != "" {
		s += " pc=" + a.Pod.Spec.PriorityClassName
	}
	return s
}

func describeAll(as []Arrival) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = describe(a)
	}
	return out
}

func secs(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

func resources(l corev1.ResourceList) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, string(k)+"="+v.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func pairs(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func describeNode(n *corev1.Node) string {
	s := n.Name + " cap=" + resources(n.Status.Capacity)
	if resources(n.Status.Allocatable) != resources(n.Status.Capacity) {
		s += " alloc=" + resources(n.Status.Allocatable)
	}
	labels := map[string]string{}
	for k, v := range n.Labels {
		switch k {
		case corev1.LabelHostname, corev1.LabelOSStable, corev1.LabelArchStable:
		default:
			labels[k] = v
		}
	}
	if len(labels) > 0 {
		s += " labels=" + pairs(labels)
	}
	return s
}

// diffLines reports the lines of want and got that differ, "" if none.
func diffLines(want, got []string) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "[%d]\n  want %s\n   got %s\n", i, w, g)
		}
	}
	return b.String()
}
