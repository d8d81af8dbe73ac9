// Package scheduler is Orrery's kube-scheduler: it watches pending pods and nodes through
// informers, runs each pod through a profile of framework plugins (filter, score, reserve,
// bind) and binds it through the API server under the system:kube-scheduler identity.
package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/defaultbinder"
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
func DefaultProfile(binder defaultbinder.Binder) *Profile {
	fit := noderesources.New(nil)
	return &Profile{
		SchedulerName: DefaultSchedulerName,
		PreFilter:     []framework.PreFilterPlugin{fit},
		Filter:        []framework.FilterPlugin{nodeunschedulable.NodeUnschedulable{}, nodename.NodeName{}, tainttoleration.TaintToleration{}, fit},
		Score:         []WeightedScore{{tainttoleration.TaintToleration{}, 3}, {fit, 1}},
		Bind:          []framework.BindPlugin{defaultbinder.New(binder)},
	}
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
}

// New returns a scheduler that uses client (which must authenticate as
// system:kube-scheduler) and the given profiles (the default profile if none).
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, profiles ...*Profile) *Scheduler {
	s := &Scheduler{
		clock: clock, log: log, client: client, identity: apiserver.SchedulerUser,
		profiles:  map[string]*Profile{},
		rand:      clock.Rand("scheduler"),
		nodeInfos: map[string]*framework.NodeInfo{},
		podNode:   map[string]string{},
		assumed:   map[string]bool{},
	}
	if len(profiles) == 0 {
		profiles = []*Profile{DefaultProfile(client)}
	}
	for _, p := range profiles {
		s.profiles[p.SchedulerName] = p
	}
	s.queue = newQueue(clock, s.kick)
	s.pods = informer.New(client, "pods", "", apiserver.Filter{})
	s.nodes = informer.New(client, "nodes", "", apiserver.Filter{})
	s.pods.AddHandler(informer.Handler{OnAdd: s.onPodAdd, OnUpdate: s.onPodUpdate, OnDelete: s.onPodDelete})
	s.nodes.AddHandler(informer.Handler{OnAdd: s.onNodeAdd, OnUpdate: s.onNodeUpdate, OnDelete: s.onNodeDelete})
	return s
}

// Start starts the informers and the periodic unschedulable flush.
func (s *Scheduler) Start() error {
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

// Pending returns how many pods wait in the queue: active, backing off, unschedulable.
func (s *Scheduler) Pending() (active, backoff, unschedulable int) { return s.queue.counts() }

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
		if len(s.queue.active) > 0 {
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
	s.queue.add(key, pod)
}

func (s *Scheduler) onPodDelete(obj runtime.Object) {
	key := informer.Key(obj)
	s.queue.remove(key)
	if _, ok := s.podNode[key]; ok {
		s.forgetPod(key)
		s.queue.moveAllToActiveOrBackoff()
	}
}

func (s *Scheduler) accountPod(key string, pod *corev1.Pod, node string) {
	s.forgetPod(key)
	ni := s.nodeInfos[node]
	if ni == nil {
		ni = framework.NewNodeInfo(nil)
		s.nodeInfos[node] = ni
	}
	ni.AddPod(key, framework.NewPodInfo(pod))
	s.podNode[key] = node
}

func (s *Scheduler) forgetPod(key string) {
	node, ok := s.podNode[key]
	if !ok {
		return
	}
	if ni := s.nodeInfos[node]; ni != nil {
		ni.RemovePod(key, ni.Pods[key])
	}
	delete(s.podNode, key)
	delete(s.assumed, key)
}

func (s *Scheduler) onNodeAdd(obj runtime.Object) {
	node := obj.(*corev1.Node)
	ni := s.nodeInfos[node.Name]
	if ni == nil {
		ni = framework.NewNodeInfo(node)
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
	s.nodeOrder = s.nodeOrder[:0]
	for _, ni := range s.nodeInfos {
		if ni.Node != nil {
			s.nodeOrder = append(s.nodeOrder, ni)
		}
	}
	sort.Slice(s.nodeOrder, func(i, j int) bool { return s.nodeOrder[i].Name() < s.nodeOrder[j].Name() })
}

// --- the scheduling cycle.

func (s *Scheduler) scheduleOne(qp *queuedPod) {
	pod := qp.pod
	prof := s.profiles[pod.Spec.SchedulerName]
	state := framework.NewCycleState()
	for _, p := range prof.PreFilter {
		if st := p.PreFilter(state, pod); !st.IsSuccess() {
			s.failed(qp, st.Code(), fmt.Sprintf("0/%d nodes are available: %s.", len(s.nodeOrder), st.Message()))
			return
		}
	}
	feasible, diagnosis := s.findNodesThatFit(prof, state, pod)
	if len(feasible) == 0 {
		s.failed(qp, framework.Unschedulable, fitErrorMessage(len(s.nodeOrder), diagnosis))
		return
	}
	host := feasible[0]
	if len(feasible) > 1 {
		scores, st := s.prioritize(prof, state, pod, feasible)
		if !st.IsSuccess() {
			s.failed(qp, framework.Error, st.Message())
			return
		}
		host = s.selectHost(feasible, scores)
	}
	node := host.Name()
	// Assume: account the pod on the node now, so the next cycle sees it, before the bind.
	key := qp.key
	assumedPod := pod.DeepCopy()
	assumedPod.Spec.NodeName = node
	s.accountPod(key, assumedPod, node)
	s.assumed[key] = true
	for i, p := range prof.Reserve {
		if st := p.Reserve(state, pod, node); !st.IsSuccess() {
			for j := i; j >= 0; j-- {
				prof.Reserve[j].Unreserve(state, pod, node)
			}
			s.forgetPod(key)
			s.failed(qp, st.Code(), st.Message())
			return
		}
	}
	for _, p := range prof.Bind {
		st := p.Bind(state, pod, node)
		if st.Code() == framework.Skip {
			continue
		}
		if !st.IsSuccess() {
			for j := len(prof.Reserve) - 1; j >= 0; j-- {
				prof.Reserve[j].Unreserve(state, pod, node)
			}
			s.forgetPod(key)
			s.log.Action(s.identity, "FailedScheduling", "pods", pod.Namespace, pod.Name, "Binding rejected: "+st.Message())
			s.queue.requeueBackoff(qp)
			return
		}
		break
	}
	s.queue.done(key)
	s.log.Action(s.identity, "Scheduled", "pods", pod.Namespace, pod.Name, fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node))
}

// numFeasibleNodesToFind is how many feasible nodes a cycle looks for before it stops.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < MinFeasibleNodesToFind {
		return numAll
	}
	if percentage <= 0 {
		percentage = int32(50 - numAll/125)
		if percentage < MinFeasibleNodesPercentageToFind {
			percentage = MinFeasibleNodesPercentageToFind
		}
	}
	n := numAll * int(percentage) / 100
	if n < MinFeasibleNodesToFind {
		return MinFeasibleNodesToFind
	}
	return n
}

// findNodesThatFit runs the filters over nodes starting where the last cycle stopped
// (round robin), until enough feasible nodes are found; diagnosis counts each reason.
func (s *Scheduler) findNodesThatFit(prof *Profile, state *framework.CycleState, pod *corev1.Pod) ([]*framework.NodeInfo, map[string]int) {
	n := len(s.nodeOrder)
	want := numFeasibleNodesToFind(prof.PercentageOfNodesToScore, n)
	var feasible []*framework.NodeInfo
	diagnosis := map[string]int{}
	processed := 0
	for i := 0; i < n && len(feasible) < want; i++ {
		ni := s.nodeOrder[(s.nextStartNodeIndex+i)%n]
		processed++
		ok := true
		for _, f := range prof.Filter {
			if st := f.Filter(state, pod, ni); !st.IsSuccess() {
				for _, r := range st.Reasons() {
					diagnosis[r]++
				}
				ok = false
				break
			}
		}
		if ok {
			feasible = append(feasible, ni)
		}
	}
	if n > 0 {
		s.nextStartNodeIndex = (s.nextStartNodeIndex + processed) % n
	}
	return feasible, diagnosis
}

// fitErrorMessage is kube-scheduler's FitError text: "0/N nodes are available: " then
// "count reason" entries sorted as strings.
func fitErrorMessage(numAll int, diagnosis map[string]int) string {
	parts := make([]string, 0, len(diagnosis))
	for r, c := range diagnosis {
		parts = append(parts, fmt.Sprintf("%d %s", c, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", numAll, strings.Join(parts, ", "))
}

func (s *Scheduler) prioritize(prof *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]int64, *framework.Status) {
	for _, p := range prof.PreScore {
		if st := p.PreScore(state, pod, nodes); !st.IsSuccess() && st.Code() != framework.Skip {
			return nil, st
		}
	}
	total := make([]int64, len(nodes))
	scores := make([]framework.NodeScore, len(nodes))
	for _, ws := range prof.Score {
		for i, ni := range nodes {
			sc, st := ws.Plugin.Score(state, pod, ni)
			if !st.IsSuccess() {
				return nil, st.WithPlugin(ws.Plugin.Name())
			}
			scores[i] = framework.NodeScore{Name: ni.Name(), Score: sc}
		}
		if ext, ok := ws.Plugin.(framework.ScoreExtensions); ok {
			if st := ext.NormalizeScore(state, pod, scores); !st.IsSuccess() {
				return nil, st.WithPlugin(ws.Plugin.Name())
			}
		}
		for i := range scores {
			total[i] += scores[i].Score * ws.Weight
		}
	}
	return total, nil
}

// selectHost picks the highest total score; ties are broken by reservoir sampling from the
// scheduler's seeded stream, as upstream breaks them at random.
func (s *Scheduler) selectHost(nodes []*framework.NodeInfo, scores []int64) *framework.NodeInfo {
	best, count := 0, 1
	for i := 1; i < len(nodes); i++ {
		switch {
		case scores[i] > scores[best]:
			best, count = i, 1
		case scores[i] == scores[best]:
			count++
			if s.rand.IntN(count) == 0 {
				best = i
			}
		}
	}
	return nodes[best]
}

// failed records a failed attempt: the FailedScheduling action, the PodScheduled=False
// condition on the pod (if it changed), and the pod back in the queue.
func (s *Scheduler) failed(qp *queuedPod, code framework.Code, msg string) {
	pod := qp.pod
	s.log.Action(s.identity, "FailedScheduling", "pods", pod.Namespace, pod.Name, msg)
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}
	if code == framework.Error {
		cond.Reason = "SchedulerError"
	}
	if cur := podCondition(pod, corev1.PodScheduled); cur == nil || cur.Status != cond.Status || cur.Reason != cond.Reason || cur.Message != cond.Message {
		next := pod.DeepCopy()
		cond.LastTransitionTime = metav1.NewTime(s.clock.Now())
		next.Status.Conditions = append(withoutCondition(next.Status.Conditions, corev1.PodScheduled), cond)
		_, _ = s.client.UpdateStatus(next) // a conflict means the pod changed; its update requeues it
	}
	if code == framework.Error {
		s.queue.requeueBackoff(qp)
	} else {
		s.queue.requeueUnschedulable(qp)
	}
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func withoutCondition(conds []corev1.PodCondition, t corev1.PodConditionType) []corev1.PodCondition {
	out := conds[:0]
	for _, c := range conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}
