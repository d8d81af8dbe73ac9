// Package noderesources is the NodeResourcesFit plugin: a pod fits a node when the node's
// allocatable covers what its pods already request plus this pod's requests, and nodes are
// scored by how much would be left free (the LeastAllocated strategy, upstream's default).
package noderesources

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeResourcesFit"

// Reason texts, exactly as kube-scheduler reports them.
const (
	ReasonTooManyPods = "Too many pods"
	reasonInsufficent = "Insufficient "
)

// ResourceWeight weights one resource in the score.
type ResourceWeight struct {
	Name   corev1.ResourceName
	Weight int64
}

// DefaultResources are the scored resources when none are configured: cpu and memory,
// weight 1 each.
var DefaultResources = []ResourceWeight{{corev1.ResourceCPU, 1}, {corev1.ResourceMemory, 1}}

// Fit is the NodeResourcesFit plugin.
type Fit struct {
	resources []ResourceWeight
}

var (
	_ framework.PreFilterPlugin = (*Fit)(nil)
	_ framework.FilterPlugin    = (*Fit)(nil)
	_ framework.ScorePlugin     = (*Fit)(nil)
)

// New returns the plugin scoring the given resources (DefaultResources if empty).
func New(resources []ResourceWeight) *Fit {
	if len(resources) == 0 {
		resources = DefaultResources
	}
	return &Fit{resources: resources}
}

// Name returns the plugin's name.
func (f *Fit) Name() string { return Name }

const stateKey = "PreFilter" + Name

// PreFilter computes the pod's requests once for the cycle.
func (f *Fit) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	state.Write(stateKey, framework.NewPodInfo(pod))
	return nil
}

func podInfo(state *framework.CycleState, pod *corev1.Pod) *framework.PodInfo {
	if v, ok := state.Read(stateKey); ok {
		return v.(*framework.PodInfo)
	}
	return framework.NewPodInfo(pod)
}

// Filter rejects nodes without room for the pod, naming every insufficient resource.
func (f *Fit) Filter(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	req := podInfo(state, pod).Requests
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.AllowedPodNumber {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if req.MilliCPU > 0 && req.MilliCPU > n.Allocatable.MilliCPU-n.Requested.MilliCPU {
		reasons = append(reasons, reasonInsufficent+string(corev1.ResourceCPU))
	}
	if req.Memory > 0 && req.Memory > n.Allocatable.Memory-n.Requested.Memory {
		reasons = append(reasons, reasonInsufficent+string(corev1.ResourceMemory))
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > n.Allocatable.EphemeralStorage-n.Requested.EphemeralStorage {
		reasons = append(reasons, reasonInsufficent+string(corev1.ResourceEphemeralStorage))
	}
	for _, name := range sortedScalars(req.Scalar) {
		if v := req.Scalar[name]; v > 0 && v > n.Allocatable.Scalar[name]-n.Requested.Scalar[name] {
			reasons = append(reasons, reasonInsufficent+string(name))
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// Score is LeastAllocated: the weighted mean over resources of the share of allocatable
// that would stay free, times MaxNodeScore. Pods requesting nothing count with the
// scheduler's non-zero defaults, as upstream scores them.
func (f *Fit) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	req := podInfo(state, pod).NonZero
	var score, weights int64
	for _, rw := range f.resources {
		alloc, used := amount(&n.Allocatable, rw.Name), amount(&n.NonZeroRequested, rw.Name)+amount(&req, rw.Name)
		if alloc == 0 {
			continue
		}
		s := int64(0)
		if used <= alloc {
			s = (alloc - used) * framework.MaxNodeScore / alloc
		}
		score += s * rw.Weight
		weights += rw.Weight
	}
	if weights == 0 {
		return 0, nil
	}
	return score / weights, nil
}

func amount(r *framework.Resource, name corev1.ResourceName) int64 {
	switch name {
	case corev1.ResourceCPU:
		return r.MilliCPU
	case corev1.ResourceMemory:
		return r.Memory
	case corev1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	}
	return r.Scalar[name]
}

func sortedScalars(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
