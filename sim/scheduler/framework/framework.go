// Package framework defines the scheduling framework's extension points, as kube-scheduler
// has them: plugins implement PreFilter, Filter, PreScore, Score (with NormalizeScore),
// Reserve and Bind, share per-cycle data through a CycleState, and see the cluster as
// NodeInfos.
package framework

import (
	"fmt"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a Score plugin may give a node.
const MaxNodeScore int64 = 100

// Code is the outcome of a plugin call.
type Code int

// Plugin outcomes, as upstream names them.
const (
	Success Code = iota
	Error
	Unschedulable
	// UnschedulableAndUnresolvable means preemption on this node would not help.
	UnschedulableAndUnresolvable
	Skip
)

// Status is a plugin's answer: a code and the reasons users see.
type Status struct {
	code    Code
	reasons []string
	plugin  string
}

// NewStatus returns a status with the given code and reasons.
func NewStatus(c Code, reasons ...string) *Status { return &Status{code: c, reasons: reasons} }

// Code returns the status code; a nil status is Success.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether the status is Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// Reasons returns the user-facing reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Plugin returns the name of the plugin that returned the status.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records which plugin returned the status.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// Message joins the reasons.
func (s *Status) Message() string { return strings.Join(s.Reasons(), ", ") }

// CycleState carries data between the extension points of one scheduling cycle, under keys
// owned by the plugins.
type CycleState struct {
	// data is a short list rather than a map: a cycle holds a dozen entries, read once per
	// node and plugin, and a scan of a few string headers beats hashing the key.
	data []stateEntry
	// SkipFilter marks, by index in the profile's Filter list, the plugins whose PreFilter
	// returned Skip: their Filter is not called this cycle (nor in preemption's dry runs).
	SkipFilter []bool
	// SkipScore marks, by index in the profile's Score list, the plugins whose PreScore
	// returned Skip: their Score is not called and they contribute nothing.
	SkipScore []bool
}

type stateEntry struct {
	key string
	v   any
}

// NewCycleState returns an empty cycle state.
func NewCycleState() *CycleState { return &CycleState{data: make([]stateEntry, 0, 16)} }

// Write stores v under key, replacing what was there.
func (c *CycleState) Write(key string, v any) {
	for i := range c.data {
		if c.data[i].key == key {
			c.data[i].v = v
			return
		}
	}
	c.data = append(c.data, stateEntry{key, v})
}

// Read returns the value under key.
func (c *CycleState) Read(key string) (any, bool) {
	// Plugins read and write under the same string constant: compare the string data
	// pointers first, which costs no memory comparison, then fall back to the bytes.
	p := unsafe.StringData(key)
	for i := range c.data {
		if unsafe.StringData(c.data[i].key) == p && len(c.data[i].key) == len(key) {
			return c.data[i].v, true
		}
	}
	for i := range c.data {
		if c.data[i].key == key {
			return c.data[i].v, true
		}
	}
	return nil, false
}

// ReadState returns the value a plugin stored under key as a T, with upstream's errors
// when it is missing or of another type.
func ReadState[T any](c *CycleState, key string) (T, error) {
	var zero T
	v, ok := c.Read(key)
	if !ok {
		return zero, fmt.Errorf("reading %q from cycleState: not found", key)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%+v convert to %T error", v, zero)
	}
	return t, nil
}

// Plugin is what every plugin is.
type Plugin interface {
	Name() string
}

// PreFilterPlugin computes per-pod data once per cycle, or rejects the pod outright.
type PreFilterPlugin interface {
	Plugin
	PreFilter(state *CycleState, pod *corev1.Pod) *Status
}

// FilterPlugin says whether the pod can run on a node.
type FilterPlugin interface {
	Plugin
	Filter(state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PreScorePlugin computes per-pod data for scoring.
type PreScorePlugin interface {
	Plugin
	PreScore(state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// ScorePlugin ranks feasible nodes.
type ScorePlugin interface {
	Plugin
	Score(state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// ScoreExtensions is implemented by score plugins that normalise their scores to
// [0, MaxNodeScore] once all nodes are scored.
type ScoreExtensions interface {
	NormalizeScore(state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// NodesScorer is implemented by score plugins that can score every node of a cycle in one
// call (Orrery's, not upstream's: upstream scores nodes in parallel instead). It must give
// scores[i].Score exactly what Score would give nodes[i]; the names are already set. The
// cycle prefers it, saving a call and a CycleState read per node.
type NodesScorer interface {
	ScoreNodes(state *CycleState, pod *corev1.Pod, nodes []*NodeInfo, scores []NodeScore) *Status
}

// ReservePlugin holds or releases resources for a pod on its chosen node.
type ReservePlugin interface {
	Plugin
	Reserve(state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(state *CycleState, pod *corev1.Pod, nodeName string)
}

// BindPlugin binds a pod to a node; Skip passes to the next bind plugin.
type BindPlugin interface {
	Plugin
	Bind(state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// QueueSortPlugin orders the active queue.
type QueueSortPlugin interface {
	Plugin
	Less(a, b *QueuedPodInfo) bool
}

// QueuedPodInfo is a pod in the scheduling queue, as QueueSort plugins see it.
type QueuedPodInfo struct {
	Pod *corev1.Pod
	// Timestamp is when the pod was first added to the queue.
	Timestamp int64
	// Attempts counts scheduling attempts.
	Attempts int
}

// NodeToStatus holds each rejected node's filter status, for PostFilter.
type NodeToStatus map[string]*Status

// PostFilterResult is what a PostFilter plugin proposes: a nominated node.
type PostFilterResult struct {
	NominatedNodeName string
}

// PostFilterPlugin runs when no node fits; preemption is one.
type PostFilterPlugin interface {
	Plugin
	PostFilter(state *CycleState, pod *corev1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status)
}

// PermitPlugin may approve, deny or (in upstream) delay a pod before binding.
type PermitPlugin interface {
	Plugin
	Permit(state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// PreBindPlugin runs before binding.
type PreBindPlugin interface {
	Plugin
	PreBind(state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// PostBindPlugin is told of a successful binding.
type PostBindPlugin interface {
	Plugin
	PostBind(state *CycleState, pod *corev1.Pod, nodeName string)
}

// PreEnqueuePlugin decides whether a pod may enter the active queue (scheduling gates).
type PreEnqueuePlugin interface {
	Plugin
	PreEnqueue(pod *corev1.Pod) *Status
}

// WeightedScore is a score plugin with its weight in a profile.
type WeightedScore struct {
	Plugin ScorePlugin
	Weight int64
}

// Profile is one scheduling profile: a schedulerName and its plugins per extension point,
// in order.
type Profile struct {
	SchedulerName string
	QueueSort     QueueSortPlugin
	PreEnqueue    []PreEnqueuePlugin
	PreFilter     []PreFilterPlugin
	Filter        []FilterPlugin
	PostFilter    []PostFilterPlugin
	PreScore      []PreScorePlugin
	Score         []WeightedScore
	Reserve       []ReservePlugin
	Permit        []PermitPlugin
	PreBind       []PreBindPlugin
	Bind          []BindPlugin
	PostBind      []PostBindPlugin
	// PercentageOfNodesToScore bounds how many feasible nodes a cycle looks for; 0 is the
	// adaptive default (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes).
	PercentageOfNodesToScore int32
}

// DefaultNormalizeScore is upstream's helper of the same name: it scales scores so the
// highest becomes maxPriority (maxPriority*score/max, integer division); with reverse the
// scale is flipped (the lowest gets maxPriority). All-zero scores stay 0, or become
// maxPriority when reversed.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []NodeScore) {
	var maxCount int64
	for i := range scores {
		if scores[i].Score > maxCount {
			maxCount = scores[i].Score
		}
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return
	}
	for i := range scores {
		score := maxPriority * scores[i].Score / maxCount
		if reverse {
			score = maxPriority - score
		}
		scores[i].Score = score
	}
}
