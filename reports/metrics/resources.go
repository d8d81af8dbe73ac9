package metrics

import (
	"container/heap"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Fixed positions of the resources every vector has.
const (
	rCPU = iota // millicores
	rMemory
	rPods
	numFixed
)

// resources numbers resource names, so that amounts are kept as vectors of int64: CPU in
// millicores, pods as a count, everything else in its unit.
type resources struct {
	index map[corev1.ResourceName]int
	names []corev1.ResourceName
}

func newResources() *resources {
	r := &resources{index: map[corev1.ResourceName]int{}}
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		r.of(n)
	}
	return r
}

// of returns the position of a resource, numbering it if new.
func (r *resources) of(name corev1.ResourceName) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	r.index[name] = len(r.names)
	r.names = append(r.names, name)
	return len(r.names) - 1
}

// vector converts a resource list (new names are numbered in name order).
func (r *resources) vector(l corev1.ResourceList) []int64 {
	v := make([]int64, numFixed)
	names := make([]corev1.ResourceName, 0, len(l))
	for name := range l {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := r.of(name)
		for len(v) <= i {
			v = append(v, 0)
		}
		v[i] = amount(name, l[name])
	}
	return v
}

// podRequests is a pod's requests as the scheduler counts them (init containers, sidecars
// and overhead included), with one pod slot.
func (r *resources) podRequests(p *corev1.Pod) []int64 {
	v := r.vector(resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}))
	v[rPods] = 1
	return v
}

func amount(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// add adds sign times b to *a, growing it as needed.
func add(a *[]int64, b []int64, sign int64) {
	for len(*a) < len(b) {
		*a = append(*a, 0)
	}
	for i, x := range b {
		(*a)[i] += sign * x
	}
}

func at(v []int64, i int) int64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// extended reports whether a resource is an extended resource (a domain-prefixed name
// outside kubernetes.io), such as nvidia.com/gpu.
func extended(name corev1.ResourceName) bool {
	s := string(name)
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return false
	}
	domain := s[:i]
	return domain != "kubernetes.io" && !strings.HasSuffix(domain, ".kubernetes.io") && !strings.HasPrefix(s, "requests.")
}

// median is the running lower median of a stream of values: two heaps, the lower half
// (a max-heap) never smaller than the upper half.
type median struct {
	lo maxHeap
	hi minHeap
}

func (m *median) add(x int64) {
	if m.lo.Len() == 0 || x <= m.lo[0] {
		heap.Push(&m.lo, x)
	} else {
		heap.Push(&m.hi, x)
	}
	switch {
	case m.lo.Len() > m.hi.Len()+1:
		heap.Push(&m.hi, heap.Pop(&m.lo))
	case m.hi.Len() > m.lo.Len():
		heap.Push(&m.lo, heap.Pop(&m.hi))
	}
}

// value returns the lower median, and false when nothing was added.
func (m *median) value() (int64, bool) {
	if m.lo.Len() == 0 {
		return 0, false
	}
	return m.lo[0], true
}

type minHeap []int64

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type maxHeap []int64

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
