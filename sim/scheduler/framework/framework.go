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
	// shared marks one of codeOnly's statuses, which WithPlugin copies before naming.
	shared bool
}

// codeOnly are the statuses NewStatus returns for a code without reasons, one per code,
// shared by every caller: PreFilter and PreScore plugins return Skip on most cycles, and a
// shared status costs no allocation. They are never changed (WithPlugin copies them).
var codeOnly = [...]Status{
	Success:                      {code: Success, shared: true},
	Error:                        {code: Error, shared: true},
	Unschedulable:                {code: Unschedulable, shared: true},
	UnschedulableAndUnresolvable: {code: UnschedulableAndUnresolvable, shared: true},
	Skip:                         {code: Skip, shared: true},
}

// NewStatus returns a status with the given code and reasons. A status without reasons
// may be shared with other callers: change it only through WithPlugin.
func NewStatus(c Code, reasons ...string) *Status {
	if len(reasons) == 0 && c >= 0 && int(c) < len(codeOnly) {
		return &codeOnly[c]
	}
	return &Status{code: c, reasons: reasons}
}

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

// WithPlugin records which plugin returned the status; a shared status (see NewStatus)
// is copied first, and the copy returned.
func (s *Status) WithPlugin(name string) *Status {
	if s == nil {
		return nil
	}
	if s.shared {
		c := *s
		c.shared = false
		s = &c
	}
	s.plugin = name
	return s
}

// Message joins the reasons.
func (s *Status) Message() string { return strings.Join(s.Reasons(), ", ") }

// CycleState carries data between the extension points of one scheduling cycle, under keys
// owned by the plugins. The scheduler keeps one and recycles it from cycle to cycle (see
// Recycle), so that a plugin may take back the value it wrote last cycle and reuse its
// memory (see Recycled) instead of allocating a new one every cycle.
type CycleState struct {
	// data is a short list rather than a map: a cycle holds a dozen entries, read once per
	// node and plugin, and a scan of a few string headers beats hashing the key.
	data []stateEntry
	// SkipFilter marks, by index in the profile's Filter list, the plugins whose PreFilter
	// returned Skip: their Filter is not called this cycle (nor in preemption's dry runs).
	// Nil when none was skipped.
	SkipFilter []bool
	// SkipScore marks, by index in the profile's Score list, the plugins whose PreScore
	// returned Skip: their Score is not called and they contribute nothing. Nil when none
	// was skipped.
	SkipScore []bool
	// spareFilter and spareScore are the skip lists of recycled cycles, for reuse.
	spareFilter, spareScore []bool
}

// stateEntry is one key's value; an entry that is not live was written before the last
// Recycle and is kept only for Recycled.
type stateEntry struct {
	key  string
	v    any
	live bool
}

// value is what Read sees of the entry: nothing once recycled.
func (e *stateEntry) value() (any, bool) {
	if !e.live {
		return nil, false
	}
	return e.v, true
}

// NewCycleState returns an empty cycle state.
func NewCycleState() *CycleState { return &CycleState{data: make([]stateEntry, 0, 16)} }

// Write stores v under key, replacing what was there.
func (c *CycleState) Write(key string, v any) {
	for i := range c.data {
		if c.data[i].key == key {
			c.data[i].v, c.data[i].live = v, true
			return
		}
	}
	c.data = append(c.data, stateEntry{key, v, true})
}

// Read returns the value under key.
func (c *CycleState) Read(key string) (any, bool) {
	// Plugins read and write under the same string constant: compare the string data
	// pointers first, which costs no memory comparison, then fall back to the bytes.
	p := unsafe.StringData(key)
	for i := range c.data {
		if e := &c.data[i]; unsafe.StringData(e.key) == p && len(e.key) == len(key) {
			return e.value()
		}
	}
	for i := range c.data {
		if e := &c.data[i]; e.key == key {
			return e.value()
		}
	}
	return nil, false
}

// Recycle empties the state for the next cycle: nothing written so far can be read, and
// no plugin is skipped. The values stay behind for their plugins to take back with
// Recycled. Only the state's owner (the scheduler, between cycles) may call it, and only
// when nothing holds on to what the last cycle wrote.
func (c *CycleState) Recycle() {
	for i := range c.data {
		c.data[i].live = false
	}
	if c.SkipFilter != nil {
		c.spareFilter, c.SkipFilter = c.SkipFilter, nil
	}
	if c.SkipScore != nil {
		c.spareScore, c.SkipScore = c.SkipScore, nil
	}
}

// Recycled returns the value written under key before the last Recycle, if nothing was
// written since, for the plugin that owns the key to reset and write again (it must
// reset every field: the value is as the last cycle left it). Nil if there is none.
func (c *CycleState) Recycled(key string) any {
	for i := range c.data {
		if e := &c.data[i]; e.key == key && !e.live {
			return e.v
		}
	}
	return nil
}

// SkipFilterAt marks the filter plugin at index i of the profile's n as skipped this cycle
// (see SkipFilter).
func (c *CycleState) SkipFilterAt(n, i int) {
	c.SkipFilter = markSkip(c.SkipFilter, &c.spareFilter, n, i)
}

// SkipScoreAt marks the score plugin at index i of the profile's n as skipped this cycle
// (see SkipScore).
func (c *CycleState) SkipScoreAt(n, i int) { c.SkipScore = markSkip(c.SkipScore, &c.spareScore, n, i) }

// markSkip sets skip[i], making skip a zeroed list of n (from spare if it is long enough)
// on first use; i < 0 (a plugin not in the list) marks nothing.
func markSkip(skip []bool, spare *[]bool, n, i int) []bool {
	if i < 0 {
		return skip
	}
	if skip == nil {
		if cap(*spare) >= n {
			skip = (*spare)[:n]
			clear(skip)
			*spare = nil
		} else {
			skip = make([]bool, n)
		}
	}
	skip[i] = true
	return skip
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
