package metrics

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/metricsserver"
)

// nodeState is a node as the collector sees it, with the pods bound to it.
type nodeState struct {
	// exists is false for a node deleted while pods are still bound to it.
	exists      bool
	ready       bool
	schedulable bool
	alloc       []int64
	// req sums the requests of the non-terminal pods bound to the node.
	req []int64
	// nonDS counts those pods that no DaemonSet owns.
	nonDS int
	// allocFrom is the allocatable list alloc was converted from.
	allocFrom corev1.ResourceList
}

// node returns a node's state, creating it (not existing) if new.
func (col *Collector) node(name string) *nodeState {
	if ns := col.nodes[name]; ns != nil {
		return ns
	}
	ns := &nodeState{}
	col.nodes[name] = ns
	i := sort.SearchStrings(col.order, name)
	col.order = append(col.order, "")
	copy(col.order[i+1:], col.order[i:])
	col.order[i] = name
	return ns
}

// dropNode forgets a node that is gone and has no pods left.
func (col *Collector) dropNode(name string) {
	ns := col.nodes[name]
	if ns == nil || ns.exists || at(ns.req, rPods) != 0 {
		return
	}
	delete(col.nodes, name)
	i := sort.SearchStrings(col.order, name)
	col.order = append(col.order[:i], col.order[i+1:]...)
}

func (col *Collector) onNode(obj runtime.Object) {
	n := obj.(*corev1.Node)
	ns := col.node(n.Name)
	ns.exists = true
	ns.schedulable = !n.Spec.Unschedulable
	ns.ready = false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ns.ready = c.Status == corev1.ConditionTrue
		}
	}
	if !sameList(ns.allocFrom, n.Status.Allocatable) || ns.alloc == nil {
		ns.allocFrom = n.Status.Allocatable
		ns.alloc = col.res.vector(n.Status.Allocatable)
		for name := range n.Status.Allocatable {
			if extended(name) {
				col.extended[string(name)] = true
			}
		}
	}
}

func (col *Collector) onNodeDelete(obj runtime.Object) {
	n := obj.(*corev1.Node)
	if ns := col.nodes[n.Name]; ns != nil {
		ns.exists = false
		col.dropNode(n.Name)
	}
}

// sameList reports whether two resource lists hold the same quantities.
func sameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if o, ok := b[name]; !ok || o.Cmp(q) != 0 {
			return false
		}
	}
	return true
}

// sampleNodes records allocation and usage per resource over the Ready nodes, nodes
// Ready and in use, and fragmentation.
func (col *Collector) sampleNodes(s *seriesSet) {
	shapes := col.fitShapes()
	var alloc, req []int64
	ready, inUse := 0, 0
	var frag int64
	for _, name := range col.order {
		ns := col.nodes[name]
		if !ns.exists {
			continue
		}
		if ns.nonDS > 0 {
			inUse++
		}
		if !ns.ready {
			continue
		}
		ready++
		add(&alloc, ns.alloc, 1)
		add(&req, ns.req, 1)
		if ns.schedulable && len(shapes) > 0 {
			free := at(ns.alloc, rCPU) - at(ns.req, rCPU)
			if !fitsAny(shapes, free, at(ns.alloc, rMemory)-at(ns.req, rMemory), at(ns.alloc, rPods)-at(ns.req, rPods)) {
				frag += max(free, 0)
			}
		}
	}
	s.set("nodes.ready", "nodes", float64(ready))
	s.set("nodes.in-use", "nodes", float64(inUse))
	ratio := func(a, b int64) float64 {
		if b <= 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	for _, r := range []int{rCPU, rMemory, rPods} {
		s.set("allocation."+string(col.res.names[r]), "ratio", ratio(at(req, r), at(alloc, r)))
	}
	ext := make([]string, 0, len(col.extended))
	for name := range col.extended {
		ext = append(ext, name)
	}
	sort.Strings(ext)
	for _, name := range ext {
		i := col.res.of(corev1.ResourceName(name))
		s.set("allocation."+name, "ratio", ratio(at(req, i), at(alloc, i)))
	}
	cpu, mem := col.usage()
	s.set("usage.cpu", "ratio", ratio(cpu, at(alloc, rCPU)))
	s.set("usage.memory", "ratio", ratio(mem, at(alloc, rMemory)))
	s.set("fragmentation.cpu", "cores", float64(frag)/1000)
}

// fitShapes returns the request shapes fragmentation is measured against: those of the
// pods waiting to be scheduled, or, when none waits, the median request shape of the
// run's pods so far; only shapes no smaller shape dominates are kept, in CPU order.
func (col *Collector) fitShapes() []shape {
	if len(col.queued) == 0 {
		cpu, ok := col.cpuMedian.value()
		mem, _ := col.memMedian.value()
		if !ok {
			return nil
		}
		return []shape{{cpu, mem}}
	}
	all := make([]shape, 0, len(col.queued))
	for s := range col.queued {
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].cpu != all[j].cpu {
			return all[i].cpu < all[j].cpu
		}
		return all[i].mem < all[j].mem
	})
	out := all[:1]
	for _, s := range all[1:] {
		if s.mem < out[len(out)-1].mem {
			out = append(out, s)
		}
	}
	return out
}

// fitsAny reports whether a pod of any of the shapes fits in the free resources.
func fitsAny(shapes []shape, cpu, mem, pods int64) bool {
	if pods < 1 {
		return false
	}
	for _, s := range shapes {
		if s.cpu <= cpu && s.mem <= mem {
			return true
		}
	}
	return false
}

// usage sums the pods' CPU (millicores) and memory as the resource metrics API has them:
// the metrics server's latest scrape of the kubelets, with spec.load's shares, as kubectl
// top reads it. The metrics server scrapes every metricsserver.DefaultResolution from the
// start, before a sample due at the same instant when samples are more frequent (its timer
// was set first), so within one resolution window the sum is read once.
func (col *Collector) usage() (cpu, mem int64) {
	if col.c.Metrics == nil {
		return 0, 0
	}
	window := int64(col.c.Loop.Elapsed() / metricsserver.DefaultResolution)
	cached := col.opts.Interval < metricsserver.DefaultResolution
	if cached && col.usageWindow == window+1 {
		return col.usageCPU, col.usageMem
	}
	defer func() {
		if cached {
			col.usageWindow, col.usageCPU, col.usageMem = window+1, cpu, mem
		}
	}()
	nss := make([]string, 0, len(col.namespaces))
	for ns := range col.namespaces {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		pms, err := col.c.Metrics.PodMetrics(ns, labels.Everything())
		if err != nil {
			continue
		}
		for _, pm := range pms {
			for _, cm := range pm.Containers {
				cpu += cm.CPUMilli
				mem += cm.MemoryBytes
			}
		}
	}
	return cpu, mem
}
