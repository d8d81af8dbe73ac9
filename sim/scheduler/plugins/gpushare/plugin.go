package gpushare

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "GPUShare"

// Reasons the plugin gives, in upstream's style.
const (
	// ErrReasonShare: no GPU of the node has the share a GPU-sharing pod asks for.
	ErrReasonShare = "Insufficient GPU share"
	// ErrReasonWhole: the node has fewer fully free GPUs than a whole-GPU pod asks for
	// (shares held by other pods make a GPU unusable for it).
	ErrReasonWhole = "Insufficient free GPUs"
	// ErrReasonModel: the node's GPUs are not of a model the pod allows.
	ErrReasonModel = "node(s) didn't match Pod's GPU model"
)

// GPUShare is the plugin: PreFilter reads the pod's GPU request, Filter rejects nodes
// without room, Reserve gives the pod GPUs (chosen by the policy that set a Chooser in the
// cycle, else BestFit), Unreserve takes them back, and Bind binds GPU pods with
// alibabacloud.com/gpu-index (other pods are left to the next bind plugin).
type GPUShare struct {
	client framework.Client
	h      framework.Handle
	// reserved holds the GPUs given to pods whose binding has not come back yet, by pod
	// key.
	reserved map[string]reservation
	// cache holds each node's view while its NodeInfo is unchanged.
	cache map[*framework.NodeInfo]cached
	// failures holds the statuses Filter returned, by reason.
	failures map[string]*framework.Status
}

type reservation struct {
	node string
	uid  string
	idx  []int
}

type cached struct {
	gen  uint64
	node *Node
}

var (
	_ framework.PreFilterPlugin = (*GPUShare)(nil)
	_ framework.FilterPlugin    = (*GPUShare)(nil)
	_ framework.ReservePlugin   = (*GPUShare)(nil)
	_ framework.BindPlugin      = (*GPUShare)(nil)
)

// New is the plugin's factory; it takes no args.
func New(_ runtime.Object, h framework.Handle) (framework.Plugin, error) {
	p := &GPUShare{h: h, reserved: map[string]reservation{}, cache: map[*framework.NodeInfo]cached{}, failures: map[string]*framework.Status{}}
	if h != nil {
		p.client = h.Client()
	}
	return p, nil
}

// Name returns the plugin's name.
func (*GPUShare) Name() string { return Name }

// stateKey holds the cycle's *cycleData.
const stateKey = "PreFilter" + Name

type cycleData struct {
	p   *GPUShare
	pod *corev1.Pod
	req Request
	err error
}

// PreFilter reads the pod's GPU request once for the cycle and makes the plugin's node
// views available to the score plugins; a pod asking for no GPU skips Filter.
func (p *GPUShare) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	r, err := RequestOf(pod)
	state.Write(stateKey, &cycleData{p: p, pod: pod, req: r, err: err})
	if err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	if r.None() {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Filter rejects a node whose GPUs are not of an allowed model or have no room.
func (p *GPUShare) Filter(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	r, err := RequestFrom(state, pod)
	if err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	if r.None() {
		return nil
	}
	st := Fit(r, p.Node(ni))
	if st.IsSuccess() {
		return nil
	}
	// The three failures are always the same statuses: keep one of each rather than
	// allocate one per node of a full cluster.
	reason := st.Reasons()[0]
	if c, ok := p.failures[reason]; ok {
		return c
	}
	p.failures[reason] = st
	return st
}

// Fit is Filter's verdict on a request and a node view.
func Fit(r Request, n *Node) *framework.Status {
	if r.None() {
		return nil
	}
	if !r.Allows(n.Model) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonModel)
	}
	if n.Fits(r) {
		return nil
	}
	if r.Share() {
		return framework.NewStatus(framework.Unschedulable, ErrReasonShare)
	}
	return framework.NewStatus(framework.Unschedulable, ErrReasonWhole)
}

// Node returns the GPU view of a node (shared: do not change it).
func (p *GPUShare) Node(ni *framework.NodeInfo) *Node {
	if c, ok := p.cache[ni]; ok && c.gen == ni.Generation {
		return c.node
	}
	name := ni.Name()
	n := NewNode(ni, p.lookup(name), "")
	if ni.Node != nil {
		p.cache[ni] = cached{gen: ni.Generation, node: n}
		p.prune(ni)
	}
	return n
}

// prune forgets the reservations of the node's pods whose binding has come back with their
// GPUs in alibabacloud.com/gpu-index.
func (p *GPUShare) prune(ni *framework.NodeInfo) {
	if len(p.reserved) == 0 {
		return
	}
	for _, pi := range ni.PodList() {
		key := pi.Pod.Namespace + "/" + pi.Pod.Name
		if r, ok := p.reserved[key]; ok && r.uid == string(pi.Pod.UID) {
			if _, has := pi.Pod.Annotations[AnnotationGPUIndex]; has {
				delete(p.reserved, key)
			}
		}
	}
}

// lookup returns the reservations on node as a Lookup.
func (p *GPUShare) lookup(node string) Lookup {
	return func(key string, pod *corev1.Pod) []int {
		if r, ok := p.reserved[key]; ok && r.node == node && r.uid == string(pod.UID) {
			return r.idx
		}
		return nil
	}
}

// Reserve gives the pod GPUs on the node: those the cycle's Chooser picks (BestFit if no
// policy set one), among the GPUs the node's other pods leave free.
func (p *GPUShare) Reserve(state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	r, err := RequestFrom(state, pod)
	if err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	if r.None() {
		return nil
	}
	ni, ok := p.h.NodeInfo(node)
	if !ok {
		return framework.NewStatus(framework.Error, fmt.Sprintf("node %q not found", node))
	}
	key := pod.Namespace + "/" + pod.Name
	n := NewNode(ni, p.lookup(node), key)
	if st := Fit(r, n); !st.IsSuccess() {
		return st
	}
	idx := ChooserFrom(state).ChooseGPUs(r, n)
	if idx == nil || !n.Clone().Take(r, 0, idx) {
		return framework.NewStatus(framework.Error, fmt.Sprintf("the GPU choice %v for pod %s does not fit node %s", idx, key, node))
	}
	p.reserved[key] = reservation{node: node, uid: string(pod.UID), idx: idx}
	delete(p.cache, ni)
	return nil
}

// Unreserve takes back the GPUs Reserve gave.
func (p *GPUShare) Unreserve(_ *framework.CycleState, pod *corev1.Pod, node string) {
	key := pod.Namespace + "/" + pod.Name
	if r, ok := p.reserved[key]; ok && r.node == node {
		delete(p.reserved, key)
		p.forget(node)
	}
}

// forget drops the cached view of a node.
func (p *GPUShare) forget(node string) {
	if p.h == nil {
		clear(p.cache)
		return
	}
	if ni, ok := p.h.NodeInfo(node); ok {
		delete(p.cache, ni)
	}
}

// Reserved returns the GPUs reserved for a pod on a node, or nil.
func (p *GPUShare) Reserved(pod *corev1.Pod, node string) []int {
	return p.lookup(node)(pod.Namespace+"/"+pod.Name, pod)
}

// Bind binds a GPU pod with the GPUs Reserve gave it as alibabacloud.com/gpu-index, which
// the API server copies onto the pod (as upstream's pods/binding does with a binding's
// annotations); pods without GPUs are left to the next bind plugin (Skip).
func (p *GPUShare) Bind(_ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	idx := p.Reserved(pod, node)
	if idx == nil {
		return framework.NewStatus(framework.Skip)
	}
	if p.client == nil {
		return framework.NewStatus(framework.Error, Name+": no client to bind with")
	}
	err := p.client.Bind(&corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			Annotations: map[string]string{AnnotationGPUIndex: FormatIndex(idx)}},
		Target: corev1.ObjectReference{Kind: "Node", Name: node},
	})
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	return nil
}
