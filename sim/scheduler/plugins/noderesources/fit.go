// Package noderesources holds the NodeResourcesFit and NodeResourcesBalancedAllocation
// plugins. NodeResourcesFit filters out nodes without room for a pod's requests and scores
// the rest with one of upstream's strategies (LeastAllocated, MostAllocated,
// RequestedToCapacityRatio); NodeResourcesBalancedAllocation favours nodes whose requested
// fractions of each resource stay close to each other.
package noderesources

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodeResourcesFit"

// Reason texts, exactly as kube-scheduler reports them. An insufficient resource reads
// ReasonInsufficientPrefix + its name ("Insufficient cpu", "Insufficient nvidia.com/gpu").
const (
	ReasonTooManyPods           = "Too many pods"
	ReasonInsufficientPrefix    = "Insufficient "
	ReasonInsufficientCPU       = ReasonInsufficientPrefix + string(corev1.ResourceCPU)
	ReasonInsufficientMemory    = ReasonInsufficientPrefix + string(corev1.ResourceMemory)
	ReasonInsufficientEphemeral = ReasonInsufficientPrefix + string(corev1.ResourceEphemeralStorage)
)

// Cycle-state keys and the wrong-args error, as upstream spells them.
const (
	preFilterStateKey              = "PreFilter" + Name
	preScoreStateKey               = "PreScore" + Name
	errWrongArgsFormat             = "want args to be of type %s, got %T"
	nodeResourcesFitArgsTypeName   = "NodeResourcesFitArgs"
	balancedAllocationArgsTypeName = "NodeResourcesBalancedAllocationArgs"
)

// ResourceWeight weights one resource in the score.
type ResourceWeight struct {
	Name   corev1.ResourceName
	Weight int64
}

// DefaultResources are the scored resources when none are configured: cpu and memory,
// weight 1 each.
var DefaultResources = []ResourceWeight{{corev1.ResourceCPU, 1}, {corev1.ResourceMemory, 1}}

type scoringStrategy uint8

const (
	strategyLeastAllocated scoringStrategy = iota
	strategyMostAllocated
	strategyRequestedToCapacityRatio
)

// Fit is the NodeResourcesFit plugin.
type Fit struct {
	strategy  scoringStrategy
	resources []scoredResource
	shape     []shapePoint // RequestedToCapacityRatio only, scores scaled to 0–100
	// ignoredResources and ignoredResourceGroups name extended resources (or their
	// "domain" prefixes) that Filter does not check.
	ignoredResources      map[string]bool
	ignoredResourceGroups map[string]bool
	// failures holds the statuses Filter has returned, one per set of reasons, so that
	// a full cluster does not cost an allocation per node (statuses are not changed
	// once made, but for the plugin name, which is always this plugin's).
	failures map[failureKey]*framework.Status
}

// failureKey names a set of Filter reasons: the fixed ones as bits, at most one
// extended resource by name (more than one is not cached).
type failureKey struct {
	bits   uint8
	scalar corev1.ResourceName
}

const (
	failPods uint8 = 1 << iota
	failCPU
	failMemory
	failEphemeral
	failScalar
	failUnresolvable
)

var (
	_ framework.PreFilterPlugin = (*Fit)(nil)
	_ framework.FilterPlugin    = (*Fit)(nil)
	_ framework.PreScorePlugin  = (*Fit)(nil)
	_ framework.ScorePlugin     = (*Fit)(nil)
)

// New returns the plugin with the LeastAllocated strategy over the given resources
// (DefaultResources if empty).
func New(resources []ResourceWeight) *Fit {
	if len(resources) == 0 {
		resources = DefaultResources
	}
	return &Fit{strategy: strategyLeastAllocated, resources: newScoredResources(resources)}
}

// NewFit is the plugin's factory: args is a *configv1.NodeResourcesFitArgs (nil means
// upstream's defaults: LeastAllocated over cpu and memory, nothing ignored).
func NewFit(args runtime.Object, _ framework.Handle) (framework.Plugin, error) {
	var typed *configv1.NodeResourcesFitArgs
	if args != nil {
		a, ok := args.(*configv1.NodeResourcesFitArgs)
		if !ok {
			return nil, fmt.Errorf(errWrongArgsFormat, nodeResourcesFitArgsTypeName, args)
		}
		typed = a
	}
	return newFitFromArgs(typed)
}

func newFitFromArgs(args *configv1.NodeResourcesFitArgs) (*Fit, error) {
	args = defaultFitArgs(args)
	if err := validateFitArgs(args); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	s := args.ScoringStrategy
	weights := make([]ResourceWeight, len(s.Resources))
	for i, r := range s.Resources {
		weights[i] = ResourceWeight{Name: corev1.ResourceName(r.Name), Weight: r.Weight}
	}
	f := &Fit{resources: newScoredResources(weights)}
	switch s.Type {
	case configv1.MostAllocated:
		f.strategy = strategyMostAllocated
	case configv1.RequestedToCapacityRatio:
		f.strategy = strategyRequestedToCapacityRatio
		for _, p := range s.RequestedToCapacityRatio.Shape {
			f.shape = append(f.shape, shapePoint{utilization: int64(p.Utilization), score: int64(p.Score) * (framework.MaxNodeScore / maxCustomPriorityScore)})
		}
	}
	if len(args.IgnoredResources) > 0 {
		f.ignoredResources = map[string]bool{}
		for _, r := range args.IgnoredResources {
			f.ignoredResources[r] = true
		}
	}
	if len(args.IgnoredResourceGroups) > 0 {
		f.ignoredResourceGroups = map[string]bool{}
		for _, g := range args.IgnoredResourceGroups {
			f.ignoredResourceGroups[g] = true
		}
	}
	return f, nil
}

// Name returns the plugin's name.
func (f *Fit) Name() string { return Name }

// scalarRequest is one extended (or other scalar) resource the pod requests and Filter
// checks.
type scalarRequest struct {
	name     corev1.ResourceName
	quantity int64
}

// preFilterState is the pod's requests, computed once per cycle.
type preFilterState struct {
	req framework.Resource
	// scalars are the non-zero scalar requests Filter checks (ignored ones left out), by
	// name, so that reasons come out in a fixed order.
	scalars []scalarRequest
	// empty is true when the pod requests nothing, so only the pod count matters.
	empty bool
}

// computeRequests is upstream's computePodResourceRequest: the larger of the init
// containers' and the containers' requests per resource, plus overhead (component-helpers'
// PodRequests, pod-level resources honoured).
func computeRequests(pod *corev1.Pod) framework.Resource {
	return framework.NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
}

func (f *Fit) newPreFilterState(pod *corev1.Pod) *preFilterState {
	s := &preFilterState{}
	f.initPreFilterState(s, computeRequests(pod))
	return s
}

// initPreFilterState makes s (new, or last cycle's) the state of a pod requesting req.
func (f *Fit) initPreFilterState(s *preFilterState, req framework.Resource) {
	*s = preFilterState{req: req, scalars: s.scalars[:0]}
	for name, q := range s.req.Scalar {
		if q == 0 || f.ignored(name) {
			continue
		}
		s.scalars = append(s.scalars, scalarRequest{name: name, quantity: q})
	}
	if len(s.scalars) > 1 {
		sort.Slice(s.scalars, func(i, j int) bool { return s.scalars[i].name < s.scalars[j].name })
	}
	s.empty = s.req.MilliCPU == 0 && s.req.Memory == 0 && s.req.EphemeralStorage == 0 && len(s.req.Scalar) == 0
}

// ignored reports whether args ignore an extended resource, by name or by the part of its
// name before the slash.
func (f *Fit) ignored(name corev1.ResourceName) bool {
	if (f.ignoredResources == nil && f.ignoredResourceGroups == nil) || !isExtendedResourceName(name) {
		return false
	}
	if f.ignoredResources[string(name)] {
		return true
	}
	if f.ignoredResourceGroups != nil {
		prefix, _, _ := strings.Cut(string(name), "/")
		return f.ignoredResourceGroups[prefix]
	}
	return false
}

// PreFilter computes the pod's requests once for the cycle.
func (f *Fit) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	s, ok := state.Recycled(preFilterStateKey).(*preFilterState)
	if !ok {
		s = &preFilterState{}
	}
	f.initPreFilterState(s, framework.PodInfoOf(state, pod).Requests)
	state.Write(preFilterStateKey, s)
	return nil
}

func (f *Fit) preFilterState(state *framework.CycleState, pod *corev1.Pod) *preFilterState {
	if v, ok := state.Read(preFilterStateKey); ok {
		if s, ok := v.(*preFilterState); ok {
			return s
		}
	}
	s := f.newPreFilterState(pod)
	state.Write(preFilterStateKey, s)
	return s
}

// Filter rejects nodes without room for the pod, naming every insufficient resource: the
// pod count first, then cpu, memory, ephemeral-storage and scalar resources by name. A
// resource the pod requests more of than the node's whole allocatable makes the status
// UnschedulableAndUnresolvable (preemption cannot help); otherwise it is Unschedulable.
func (f *Fit) Filter(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	s := f.preFilterState(state, pod)
	key, scalars := failures(s, n)
	if key.bits == 0 {
		return nil
	}
	if scalars > 1 {
		return insufficient(s, n)
	}
	if st, ok := f.failures[key]; ok {
		return st
	}
	st := insufficient(s, n)
	if f.failures == nil {
		f.failures = map[failureKey]*framework.Status{}
	}
	f.failures[key] = st
	return st
}

// failures checks the node in one pass without allocating: the set of insufficient
// resources (zero if the pod fits), and how many extended resources are among them.
func failures(s *preFilterState, n *framework.NodeInfo) (key failureKey, scalars int) {
	if n.NumPods()+1 > n.Allocatable.AllowedPodNumber {
		key.bits |= failPods
	}
	if s.empty {
		return key, 0
	}
	r := &s.req
	if r.MilliCPU > 0 && r.MilliCPU > n.Allocatable.MilliCPU-n.Requested.MilliCPU {
		key.bits |= failCPU
		if r.MilliCPU > n.Allocatable.MilliCPU {
			key.bits |= failUnresolvable
		}
	}
	if r.Memory > 0 && r.Memory > n.Allocatable.Memory-n.Requested.Memory {
		key.bits |= failMemory
		if r.Memory > n.Allocatable.Memory {
			key.bits |= failUnresolvable
		}
	}
	if r.EphemeralStorage > 0 && r.EphemeralStorage > n.Allocatable.EphemeralStorage-n.Requested.EphemeralStorage {
		key.bits |= failEphemeral
		if r.EphemeralStorage > n.Allocatable.EphemeralStorage {
			key.bits |= failUnresolvable
		}
	}
	for _, sr := range s.scalars {
		alloc := n.Allocatable.Scalar[sr.name]
		if sr.quantity > alloc-n.Requested.Scalar[sr.name] {
			key.bits |= failScalar
			key.scalar = sr.name
			scalars++
			if sr.quantity > alloc {
				key.bits |= failUnresolvable
			}
		}
	}
	return key, scalars
}

// insufficient builds the status of a node the pod does not fit, with upstream's reasons
// in upstream's order; a reason that no amount of freeing could cure (the request
// exceeds the allocatable) makes it UnschedulableAndUnresolvable.
func insufficient(s *preFilterState, n *framework.NodeInfo) *framework.Status {
	var reasons []string
	code := framework.Unschedulable
	add := func(reason string, unresolvable bool) {
		reasons = append(reasons, reason)
		if unresolvable {
			code = framework.UnschedulableAndUnresolvable
		}
	}
	if n.NumPods()+1 > n.Allocatable.AllowedPodNumber {
		add(ReasonTooManyPods, false)
	}
	if !s.empty {
		r := &s.req
		if r.MilliCPU > 0 && r.MilliCPU > n.Allocatable.MilliCPU-n.Requested.MilliCPU {
			add(ReasonInsufficientCPU, r.MilliCPU > n.Allocatable.MilliCPU)
		}
		if r.Memory > 0 && r.Memory > n.Allocatable.Memory-n.Requested.Memory {
			add(ReasonInsufficientMemory, r.Memory > n.Allocatable.Memory)
		}
		if r.EphemeralStorage > 0 && r.EphemeralStorage > n.Allocatable.EphemeralStorage-n.Requested.EphemeralStorage {
			add(ReasonInsufficientEphemeral, r.EphemeralStorage > n.Allocatable.EphemeralStorage)
		}
		for _, sr := range s.scalars {
			if sr.quantity > n.Allocatable.Scalar[sr.name]-n.Requested.Scalar[sr.name] {
				add(ReasonInsufficientPrefix+string(sr.name), sr.quantity > n.Allocatable.Scalar[sr.name])
			}
		}
	}
	return framework.NewStatus(code, reasons...)
}

// preScoreState is the pod's requests per scoring resource, in the order of f.resources.
type preScoreState struct {
	podRequests []int64
}

// podRequestList returns req's amounts of the resources, in buf if it is long enough.
func podRequestList(buf []int64, req *framework.Resource, resources []scoredResource) []int64 {
	out := buf[:0]
	for i := range resources {
		out = append(out, amount(req, &resources[i]))
	}
	return out
}

// PreScore computes the pod's (non-zero) requests for the scored resources once.
func (f *Fit) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	s, ok := state.Recycled(preScoreStateKey).(*preScoreState)
	if !ok {
		s = &preScoreState{}
	}
	s.podRequests = podRequestList(s.podRequests, &framework.PodInfoOf(state, pod).NonZero, f.resources)
	state.Write(preScoreStateKey, s)
	return nil
}

// Score rates the node with the configured strategy. Without PreScore it computes the
// pod's requests on the first call and keeps them in the cycle state.
func (f *Fit) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(preScoreStateKey)
	if !ok {
		f.PreScore(state, pod, nil)
		v, _ = state.Read(preScoreStateKey)
	}
	return f.score(n, v.(*preScoreState).podRequests), nil
}

// ScoreNodes is Score over every node of the cycle (framework.NodesScorer).
func (f *Fit) ScoreNodes(state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, scores []framework.NodeScore) *framework.Status {
	v, ok := state.Read(preScoreStateKey)
	if !ok {
		f.PreScore(state, pod, nil)
		v, _ = state.Read(preScoreStateKey)
	}
	reqs := v.(*preScoreState).podRequests
	if isCPUMemory(f.resources) && f.strategy != strategyRequestedToCapacityRatio {
		f.scoreCPUMemory(nodes, reqs[0], reqs[1], scores)
		return nil
	}
	for i, n := range nodes {
		scores[i].Score = f.score(n, reqs)
	}
	return nil
}

// scoreCPUMemory is score for the default resources, cpu then memory, with the
// LeastAllocated or MostAllocated strategy, reading the node's fields directly: the same
// arithmetic without the per-resource dispatch, for the scheduler's hottest loop.
func (f *Fit) scoreCPUMemory(nodes []*framework.NodeInfo, cpuReq, memReq int64, scores []framework.NodeScore) {
	scorer := leastRequestedScore
	if f.strategy == strategyMostAllocated {
		scorer = mostRequestedScore
	}
	wCPU, wMem := f.resources[0].weight, f.resources[1].weight
	for i, n := range nodes {
		var nodeScore, weightSum int64
		if alloc := n.Allocatable.MilliCPU; alloc != 0 {
			nodeScore += scorer(n.NonZeroRequested.MilliCPU+cpuReq, alloc) * wCPU
			weightSum += wCPU
		}
		if alloc := n.Allocatable.Memory; alloc != 0 {
			nodeScore += scorer(n.NonZeroRequested.Memory+memReq, alloc) * wMem
			weightSum += wMem
		}
		if weightSum == 0 {
			scores[i].Score = 0
			continue
		}
		scores[i].Score = nodeScore / weightSum
	}
}
