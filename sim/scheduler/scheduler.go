// Package scheduler is Orrery's kube-scheduler: it watches pending pods and nodes through
// informers, runs each pod through a profile of framework plugins (filter, score, reserve,
// bind) and binds it through the API server under the system:kube-scheduler identity.
package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/extender"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/defaultbinder"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/defaultpreemption"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodename"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/noderesources"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeunschedulable"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/tainttoleration"
)

// Sampling defaults of percentageOfNodesToScore, as kube-scheduler's.
const (
	// DefaultSchedulerName is the profile pods get when they name none.
	DefaultSchedulerName = corev1.DefaultSchedulerName
	// MinFeasibleNodesToFind is the fewest feasible nodes a cycle looks for.
	MinFeasibleNodesToFind = 100
	// MinFeasibleNodesPercentageToFind is the floor of the adaptive percentage.
	MinFeasibleNodesPercentageToFind = 5
)

// Profile is a scheduling profile (see framework.Profile).
type Profile = framework.Profile

// WeightedScore is a score plugin with its weight (see framework.WeightedScore).
type WeightedScore = framework.WeightedScore

// DefaultProfile returns the default-scheduler profile with the plugins Orrery has so far,
// at upstream's default weights.
func DefaultProfile(h framework.Handle) *Profile {
	fit := noderesources.New(nil)
	prof := &Profile{
		SchedulerName: DefaultSchedulerName,
		PreFilter:     []framework.PreFilterPlugin{fit},
		Filter:        []framework.FilterPlugin{nodeunschedulable.NodeUnschedulable{}, nodename.NodeName{}, tainttoleration.TaintToleration{}, fit},
		Score:         []WeightedScore{{Plugin: tainttoleration.TaintToleration{}, Weight: 3}, {Plugin: fit, Weight: 1}},
		Bind:          []framework.BindPlugin{defaultbinder.New(h.Client())},
	}
	if p, err := defaultpreemption.New(nil, h); err == nil {
		prof.PostFilter = []framework.PostFilterPlugin{p.(framework.PostFilterPlugin)}
	}
	return prof
}

// Scheduler is the scheduler component.
type Scheduler struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	identity string
	pods     *informer.Informer
	nodes    *informer.Informer
	profiles map[string]*Profile
	queue    *queue
	rand     *rand.Rand

	nodeInfos map[string]*framework.NodeInfo
	nodeOrder []*framework.NodeInfo // nodes with a Node object, by name
	// podNode is the node each accounted pod is on; assumed pods are bound in flight.
	podNode map[string]string
	assumed map[string]bool

	nextStartNodeIndex int
	cycle              *loop.Timer
	cycles             uint64
	namespaces         *informer.Informer
	pdbs               *informer.Informer
	decisions          *DecisionLog
	// extenders are the HTTP scheduler extenders, shared by every profile as upstream's.
	extenders []*extender.Extender
	// recorders record Events, one per profile (its schedulerName is the source).
	recorders map[string]*events.Recorder
	// nominated holds, per node, the pending pods preemption nominated to it; lower
	// priority pods may not take the room made for them.
	nominated map[string]map[string]*framework.PodInfo
	// nodesGen counts node adds, updates and removals (framework.NodeVersioner).
	nodesGen uint64
	// podsByLabel indexes accounted pods by label key, value and pod key
	// (framework.PodLabelIndex).
	podsByLabel map[string]map[string]map[string]*framework.PodInfo
	// nodeInfoSlab is the chunk new NodeInfos are taken from (allocNodeInfo).
	nodeInfoSlab []framework.NodeInfo
	// state is the cycle state, recycled by every cycle (cycleState).
	state *framework.CycleState
	// Buffers reused by every cycle (a cycle never outlives the next one's start).
	bufFeasible []*framework.NodeInfo
	// bufStatuses is findNodesThatFit's map of the nodes that did not fit, reused.
	bufStatuses framework.NodeToStatus
	bufFilters  []framework.FilterPlugin
	// nsDefaultLabels are the labels of namespaces the cache does not hold (see
	// NamespaceLabels).
	nsDefaultLabels map[string]map[string]string
	bufTotal        []int64
	bufScores       []framework.NodeScore
	// affinity caches the AffinityLister lists until a pod with affinity comes or goes.
	affinityGen, affinityBuilt   uint64
	withAffinity, withRequiredAA []*framework.NodeInfo
}

// Options configure a scheduler beyond its profiles.
type Options struct {
	// Decisions, when set, receives one record per scheduling cycle.
	Decisions *DecisionLog
	// Extenders are HTTP scheduler extenders (a configuration file's extenders), called
	// after the Filter and Score plugins and, if one binds, instead of the Bind plugins.
	Extenders []*extender.Extender
}

// New returns a scheduler that uses client (which must authenticate as
// system:kube-scheduler) and the given profiles (the default profile if none).
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, profiles ...*Profile) *Scheduler {
	return NewWithOptions(clock, log, client, Options{}, profiles...)
}

// NewFromConfig returns a scheduler whose profiles are built by build from the
// scheduler's own handle (nil: the default profile), as a configuration file's are.
func NewFromConfig(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, opts Options, build func(framework.Handle) ([]*framework.Profile, error)) (*Scheduler, error) {
	s := NewWithOptions(clock, log, client, opts)
	if build == nil {
		return s, nil
	}
	profiles, err := build(s)
	if err != nil {
		return nil, err
	}
	if len(profiles) == 0 {
		return nil, fmt.Errorf("no scheduling profiles")
	}
	s.profiles = map[string]*Profile{}
	for _, p := range profiles {
		s.profiles[p.SchedulerName] = p
	}
	s.queue.active.less = queueLess(profiles[0].QueueSort)
	return s, nil
}

// NewWithOptions is New with options.
func NewWithOptions(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, opts Options, profiles ...*Profile) *Scheduler {
	s := &Scheduler{
		clock: clock, log: log, client: client, identity: apiserver.SchedulerUser,
		profiles:  map[string]*Profile{},
		rand:      clock.Rand("scheduler"),
		nodeInfos: map[string]*framework.NodeInfo{},
		podNode:   map[string]string{},
		assumed:   map[string]bool{},
		decisions: opts.Decisions,
		extenders: opts.Extenders,
		nominated: map[string]map[string]*framework.PodInfo{},
		recorders: map[string]*events.Recorder{},
	}
	if len(profiles) == 0 {
		profiles = []*Profile{DefaultProfile(s)}
	}
	for _, p := range profiles {
		s.profiles[p.SchedulerName] = p
	}
	s.queue = newQueue(clock, s.kick, queueLess(profiles[0].QueueSort))
	s.pods = informer.New(client, "pods", "", apiserver.Filter{})
	s.nodes = informer.New(client, "nodes", "", apiserver.Filter{})
	s.namespaces = informer.New(client, "namespaces", "", apiserver.Filter{})
	s.pdbs = informer.New(client, "poddisruptionbudgets", "", apiserver.Filter{})
	s.pods.AddHandler(informer.Handler{OnAdd: s.onPodAdd, OnUpdate: s.onPodUpdate, OnDelete: s.onPodDelete})
	s.nodes.AddHandler(informer.Handler{OnAdd: s.onNodeAdd, OnUpdate: s.onNodeUpdate, OnDelete: s.onNodeDelete})
	return s
}

// Start starts the informers and the periodic unschedulable flush.
func (s *Scheduler) Start() error {
	for _, inf := range []*informer.Informer{s.namespaces, s.pdbs} {
		if err := inf.Start(); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	if err := s.nodes.Start(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if err := s.pods.Start(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	var flush func()
	flush = func() {
		s.queue.flushUnschedulable()
		s.clock.After(UnschedulableFlushPeriod, flush)
	}
	s.clock.After(UnschedulableFlushPeriod, flush)
	return nil
}

// Pending returns how many pods wait in the queue: active, backing off, unschedulable and
// gated.
func (s *Scheduler) Pending() (active, backoff, unschedulable, gated int) { return s.queue.counts() }

// kick schedules a scheduling cycle at the current instant if none is due.
func (s *Scheduler) kick() {
	if s.cycle != nil {
		return
	}
	s.cycle = s.clock.After(0, func() {
		s.cycle = nil
		if qp := s.queue.pop(); qp != nil {
			s.scheduleOne(qp)
		}
		if s.queue.active.Len() > 0 {
			s.kick()
		}
	})
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (s *Scheduler) responsibleFor(pod *corev1.Pod) bool {
	_, ok := s.profiles[pod.Spec.SchedulerName]
	return ok
}

// --- informer handlers: keep the cache and the queue in step with the cluster.

func (s *Scheduler) onPodAdd(obj runtime.Object) { s.onPodUpdate(nil, obj) }

func (s *Scheduler) onPodUpdate(_, obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	key := informer.Key(pod)
	s.setNominated(key, pod)
	if pod.Spec.NodeName != "" {
		s.queue.remove(key)
		if isTerminal(pod) {
			s.forgetPod(key)
			s.queue.moveAllToActiveOrBackoff()
			return
		}
		s.accountPod(key, pod, pod.Spec.NodeName)
		delete(s.assumed, key)
		return
	}
	if pod.DeletionTimestamp != nil || !s.responsibleFor(pod) || isTerminal(pod) {
		s.queue.remove(key)
		return
	}
	s.queue.add(key, pod, s.preEnqueue(pod))
}

// preEnqueue runs the profile's PreEnqueue plugins (scheduling gates); a rejection keeps
// the pod out of activeQ until the pod changes.
func (s *Scheduler) preEnqueue(pod *corev1.Pod) bool {
	for _, p := range s.profiles[pod.Spec.SchedulerName].PreEnqueue {
		if st := p.PreEnqueue(pod); !st.IsSuccess() {
			return false
		}
	}
	return true
}

func (s *Scheduler) onPodDelete(obj runtime.Object) {
	key := informer.Key(obj)
	s.setNominated(key, nil)
	s.queue.remove(key)
	if _, ok := s.podNode[key]; ok {
		s.forgetPod(key)
		s.queue.moveAllToActiveOrBackoff()
	}
}

// NominatedPodsForNode returns the pending pods nominated to node, in key order
// (framework.Nominator).
func (s *Scheduler) NominatedPodsForNode(node string) []*framework.PodInfo {
	set := s.nominated[node]
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*framework.PodInfo, len(keys))
	for i, k := range keys {
		out[i] = set[k]
	}
	return out
}

// setNominated records the node a pending pod is nominated to (none if pod is nil, bound
// or not nominated).
func (s *Scheduler) setNominated(key string, pod *corev1.Pod) {
	for node, set := range s.nominated {
		if _, ok := set[key]; ok && (pod == nil || pod.Status.NominatedNodeName != node || pod.Spec.NodeName != "") {
			delete(set, key)
			if len(set) == 0 {
				delete(s.nominated, node)
			}
		}
	}
	if pod == nil || pod.Spec.NodeName != "" || pod.Status.NominatedNodeName == "" || pod.DeletionTimestamp != nil {
		return
	}
	set := s.nominated[pod.Status.NominatedNodeName]
	if set == nil {
		set = map[string]*framework.PodInfo{}
		s.nominated[pod.Status.NominatedNodeName] = set
	}
	set[key] = framework.NewPodInfo(pod)
}

func (s *Scheduler) accountPod(key string, pod *corev1.Pod, node string) {
	s.accountPodInfo(key, framework.NewPodInfo(pod), node)
}

// accountPodInfo accounts a pod whose requests are already computed.
func (s *Scheduler) accountPodInfo(key string, pi *framework.PodInfo, node string) {
	pod := pi.Pod
	s.forgetPod(key)
	ni := s.nodeInfos[node]
	if ni == nil {
		ni = s.allocNodeInfo(nil)
		s.nodeInfos[node] = ni
	}
	ni.AddPod(key, pi)
	s.podNode[key] = node
	s.indexLabels(key, pi, true)
	if framework.HasAffinity(pod) {
		s.affinityGen++
	}
}

func (s *Scheduler) forgetPod(key string) {
	node, ok := s.podNode[key]
	if !ok {
		return
	}
	if ni := s.nodeInfos[node]; ni != nil {
		if pi := ni.Pods[key]; pi != nil && framework.HasAffinity(pi.Pod) {
			s.affinityGen++
		}
		if pi := ni.Pods[key]; pi != nil {
			s.indexLabels(key, pi, false)
		}
		ni.RemovePod(key, ni.Pods[key])
	}
	delete(s.podNode, key)
	delete(s.assumed, key)
}

// indexLabels adds (or removes) an accounted pod to the label index.
func (s *Scheduler) indexLabels(key string, pi *framework.PodInfo, add bool) {
	if s.podsByLabel == nil {
		s.podsByLabel = map[string]map[string]map[string]*framework.PodInfo{}
	}
	for k, v := range pi.Pod.Labels {
		byValue := s.podsByLabel[k]
		if byValue == nil {
			if !add {
				continue
			}
			byValue = map[string]map[string]*framework.PodInfo{}
			s.podsByLabel[k] = byValue
		}
		pods := byValue[v]
		if add {
			if pods == nil {
				pods = map[string]*framework.PodInfo{}
				byValue[v] = pods
			}
			pods[key] = pi
			continue
		}
		delete(pods, key)
		if len(pods) == 0 {
			delete(byValue, v)
		}
	}
}

// PodsWithLabel implements framework.PodLabelIndex. It ranges over a map: the callers only
// add up counts, which no order changes.
func (s *Scheduler) PodsWithLabel(key, value string, fn func(pi *framework.PodInfo, ni *framework.NodeInfo)) {
	for podKey, pi := range s.podsByLabel[key][value] {
		if ni := s.nodeInfos[s.podNode[podKey]]; ni != nil && ni.Node != nil {
			fn(pi, ni)
		}
	}
}

// nodeInfoChunk is how many NodeInfos are allocated together.
const nodeInfoChunk = 256

// allocNodeInfo returns a new NodeInfo for node, taken from a chunk of contiguous
// NodeInfos: nodes registered together (as a cluster's are at start) then lie next to each
// other in memory in the order the filters visit them, which the measured cycle at 5,000
// nodes needs (a NodeInfo per heap object spent a third of the cycle on cache misses).
func (s *Scheduler) allocNodeInfo(node *corev1.Node) *framework.NodeInfo {
	if len(s.nodeInfoSlab) == cap(s.nodeInfoSlab) {
		s.nodeInfoSlab = make([]framework.NodeInfo, 0, nodeInfoChunk)
	}
	s.nodeInfoSlab = append(s.nodeInfoSlab, framework.NodeInfo{})
	ni := &s.nodeInfoSlab[len(s.nodeInfoSlab)-1]
	framework.InitNodeInfo(ni, node)
	return ni
}

func (s *Scheduler) onNodeAdd(obj runtime.Object) {
	node := obj.(*corev1.Node)
	s.nodesGen++
	ni := s.nodeInfos[node.Name]
	if ni == nil {
		ni = s.allocNodeInfo(node)
		s.nodeInfos[node.Name] = ni
	} else {
		ni.SetNode(node)
	}
	s.rebuildNodeOrder()
	s.queue.moveAllToActiveOrBackoff()
}

// onNodeUpdate requeues unschedulable pods only when something a plugin looks at changed,
// not on every heartbeat.
func (s *Scheduler) onNodeUpdate(oldObj, obj runtime.Object) {
	old, node := oldObj.(*corev1.Node), obj.(*corev1.Node)
	s.nodesGen++
	if ni := s.nodeInfos[node.Name]; ni != nil {
		ni.SetNode(node)
	}
	if node.Spec.Unschedulable != old.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(node.Spec.Taints, old.Spec.Taints) ||
		!equality.Semantic.DeepEqual(node.Status.Allocatable, old.Status.Allocatable) ||
		!equality.Semantic.DeepEqual(node.Labels, old.Labels) {
		s.queue.moveAllToActiveOrBackoff()
	}
}

func (s *Scheduler) onNodeDelete(obj runtime.Object) {
	node := obj.(*corev1.Node)
	s.nodesGen++
	if ni := s.nodeInfos[node.Name]; ni != nil {
		if len(ni.Pods) == 0 {
			delete(s.nodeInfos, node.Name)
		} else {
			ni.Node = nil
		}
	}
	s.rebuildNodeOrder()
}

func (s *Scheduler) rebuildNodeOrder() {
	s.affinityGen++
	s.nodeOrder = s.nodeOrder[:0]
	for _, ni := range s.nodeInfos {
		if ni.Node != nil {
			s.nodeOrder = append(s.nodeOrder, ni)
		}
	}
	sort.Slice(s.nodeOrder, func(i, j int) bool { return s.nodeOrder[i].Name() < s.nodeOrder[j].Name() })
}

// --- framework.Handle

var _ framework.Handle = (*Scheduler)(nil)

// NodeInfos returns the nodes with a Node object, in name order.
func (s *Scheduler) NodeInfos() []*framework.NodeInfo { return s.nodeOrder }

// NodeInfo returns one node's info.
func (s *Scheduler) NodeInfo(name string) (*framework.NodeInfo, bool) {
	ni, ok := s.nodeInfos[name]
	return ni, ok && ni.Node != nil
}

// NamespaceLabels returns a namespace's labels from the scheduler's cache.
func (s *Scheduler) NamespaceLabels(ns string) map[string]string {
	if s.namespaces != nil {
		if obj, ok := s.namespaces.Get("", ns); ok {
			return obj.(*corev1.Namespace).Labels
		}
	}
	// Not (yet) in the cache: the labels the API server gives every namespace. Shared and
	// kept, so that asking costs nothing; callers only read them.
	if l, ok := s.nsDefaultLabels[ns]; ok {
		return l
	}
	if s.nsDefaultLabels == nil {
		s.nsDefaultLabels = map[string]map[string]string{}
	}
	l := map[string]string{corev1.LabelMetadataName: ns}
	s.nsDefaultLabels[ns] = l
	return l
}

// Rand returns the scheduler's seeded stream.
func (s *Scheduler) Rand() *rand.Rand { return s.rand }

// Client returns the API calls plugins may make, as system:kube-scheduler.
func (s *Scheduler) Client() framework.Client { return pluginClient{s.client} }

// recorder returns the event recorder of the profile named schedulerName.
func (s *Scheduler) recorder(schedulerName string) *events.Recorder {
	if s.client == nil {
		return nil // a scheduler without an API server (benchmarks) records nothing
	}
	r, ok := s.recorders[schedulerName]
	if !ok {
		if s.recorders == nil {
			s.recorders = map[string]*events.Recorder{}
		}
		r = events.New(s.clock, s.client, schedulerName, "")
		s.recorders[schedulerName] = r
	}
	return r
}

// event records an Event about obj from the profile schedulerName; recording is best
// effort, as upstream's broadcaster drops what it cannot write.
func (s *Scheduler) event(schedulerName string, obj runtime.Object, eventType, reason, message string) {
	_ = s.recorder(schedulerName).Event(obj, eventType, reason, message)
}

// Eventf records an Event from the default profile (framework.EventRecorder).
func (s *Scheduler) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	s.event(DefaultSchedulerName, obj, eventType, reason, fmt.Sprintf(format, args...))
}

type pluginClient struct{ c *apiserver.Client }

func (p pluginClient) Bind(b *corev1.Binding) error { return p.c.Bind(b) }

func (p pluginClient) DeletePod(ns, name string) error {
	_, err := p.c.Delete("pods", ns, name, apiserver.DeleteOptions{})
	return err
}

func (p pluginClient) UpdatePodStatus(pod *corev1.Pod) error {
	_, err := p.c.UpdateStatus(pod)
	return err
}

var (
	_ framework.FilterRunner  = (*Scheduler)(nil)
	_ framework.EventRecorder = (*Scheduler)(nil)
	_ framework.PodLabelIndex = (*Scheduler)(nil)
	_ framework.PDBLister     = (*Scheduler)(nil)
)

// RunFilters runs the filters of the pod's profile on a node (which may be a clone), with
// the pods nominated to it at the pod's priority or above counted in, as upstream's
// preemption dry runs do.
func (s *Scheduler) RunFilters(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	prof, ok := s.profiles[pod.Spec.SchedulerName]
	if !ok {
		return framework.NewStatus(framework.Error, "no profile for scheduler "+pod.Spec.SchedulerName)
	}
	return s.filterNode(activeFilters(prof, state, nil), state, pod, ni)
}

// PodDisruptionBudgets lists the PDBs in the scheduler's cache, in namespace/name order.
func (s *Scheduler) PodDisruptionBudgets() []*policyv1.PodDisruptionBudget {
	if s.pdbs == nil {
		return nil
	}
	objs := s.pdbs.List()
	out := make([]*policyv1.PodDisruptionBudget, len(objs))
	for i, o := range objs {
		out[i] = o.(*policyv1.PodDisruptionBudget)
	}
	return out
}

var _ framework.AffinityLister = (*Scheduler)(nil)

// NodeInfosWithAffinity lists nodes holding pods with pod affinity or anti-affinity.
func (s *Scheduler) NodeInfosWithAffinity() []*framework.NodeInfo {
	s.buildAffinityLists()
	return s.withAffinity
}

// NodeInfosWithRequiredAntiAffinity lists nodes holding pods with required anti-affinity.
func (s *Scheduler) NodeInfosWithRequiredAntiAffinity() []*framework.NodeInfo {
	s.buildAffinityLists()
	return s.withRequiredAA
}

func (s *Scheduler) buildAffinityLists() {
	if s.affinityBuilt == s.affinityGen && s.affinityGen != 0 {
		return
	}
	s.withAffinity, s.withRequiredAA = s.withAffinity[:0], s.withRequiredAA[:0]
	for _, ni := range s.nodeOrder {
		if len(ni.PodsWithAffinity) > 0 {
			s.withAffinity = append(s.withAffinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.withRequiredAA = append(s.withRequiredAA, ni)
		}
	}
	s.affinityBuilt = s.affinityGen
}

var _ framework.NodeVersioner = (*Scheduler)(nil)

// NodesGeneration grows whenever a node is added, updated or removed.
func (s *Scheduler) NodesGeneration() uint64 { return s.nodesGen }
