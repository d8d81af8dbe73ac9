package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/extender"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// scheduleOne is one scheduling cycle for one pod: PreFilter, Filter (with node sampling),
// PostFilter when nothing fits, PreScore, Score, NormalizeScore, then Reserve, Permit,
// PreBind, Bind and PostBind on the chosen node.
func (s *Scheduler) scheduleOne(qp *queuedPod) {
	s.cycles++
	pod := qp.pod
	prof := s.profiles[pod.Spec.SchedulerName]
	var rec *Decision
	if s.decisions != nil {
		rec = &Decision{Cycle: s.cycles, Time: s.clock.Now().Sub(loop.Epoch).String(), Pod: pod.Namespace + "/" + pod.Name, Profile: prof.SchedulerName, Nodes: len(s.nodeOrder)}
		defer s.decisions.write(rec)
	}
	state := s.cycleState()
	framework.SetPodInfo(state, qp.podInfo())
	for _, p := range prof.PreFilter {
		st := p.PreFilter(state, pod)
		if st.Code() == framework.Skip {
			state.SkipFilterAt(len(prof.Filter), filterIndex(prof, p.Name()))
			continue
		}
		if st.IsSuccess() {
			continue
		}
		msg := fmt.Sprintf("0/%d nodes are available: %s.", len(s.nodeOrder), st.Message())
		if st.Code() == framework.Error {
			s.failed(qp, rec, framework.Error, msg)
		} else {
			s.failed(qp, rec, st.Code(), msg)
		}
		return
	}
	feasible, statuses, err := s.feasibleNodes(prof, state, pod, rec)
	if err != nil {
		s.failed(qp, rec, framework.Error, err.Error())
		return
	}
	if len(feasible) == 0 {
		msg := fitErrorMessage(len(s.nodeOrder), statuses)
		for _, p := range prof.PostFilter {
			res, st := p.PostFilter(state, pod, statuses)
			if st.IsSuccess() && res != nil && res.NominatedNodeName != "" {
				if rec != nil {
					rec.Nominated = res.NominatedNodeName
				}
				s.log.Action(s.identity, "Preempted", "pods", pod.Namespace, pod.Name, fmt.Sprintf("Preempted pods on %s; nominated it for %s/%s", res.NominatedNodeName, pod.Namespace, pod.Name))
				s.recordFailure(qp, rec, framework.Unschedulable, msg, res.NominatedNodeName)
				return
			}
			if m := st.Message(); m != "" {
				msg += " preemption: " + m
			}
		}
		s.failed(qp, rec, framework.Unschedulable, msg)
		return
	}
	host := feasible[0]
	if len(feasible) > 1 {
		scores, st := s.prioritize(prof, state, pod, feasible, rec)
		if !st.IsSuccess() {
			s.failed(qp, rec, framework.Error, st.Message())
			return
		}
		host = s.selectHost(feasible, scores)
	}
	s.assumeAndBind(qp, prof, state, host.Name(), rec)
}

// feasibleNodes returns the nodes that pass every filter. A pod nominated to a node by
// preemption tries that node alone first, as upstream does.
func (s *Scheduler) feasibleNodes(prof *Profile, state *framework.CycleState, pod *corev1.Pod, rec *Decision) ([]*framework.NodeInfo, framework.NodeToStatus, error) {
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni, ok := s.NodeInfo(nn); ok {
			if st := s.filterNode(activeFilters(prof, state, nil), state, pod, ni); st.IsSuccess() {
				if rec != nil {
					rec.Filter = append(rec.Filter, FilterVerdict{Node: nn, Fits: true})
				}
				feasible, statuses := []*framework.NodeInfo{ni}, framework.NodeToStatus{}
				if feasible, err := s.filterByExtenders(pod, feasible, statuses, rec); err != nil || len(feasible) > 0 {
					return feasible, statuses, err
				}
			}
		}
	}
	feasible, statuses := s.findNodesThatFit(prof, state, pod, rec)
	if len(feasible) == 0 || len(s.extenders) == 0 {
		return feasible, statuses, nil
	}
	if statuses == nil {
		statuses = framework.NodeToStatus{}
	}
	feasible, err := s.filterByExtenders(pod, feasible, statuses, rec)
	return feasible, statuses, err
}

// filterByExtenders passes the nodes the filter plugins kept through the HTTP extenders'
// filters, as upstream's findNodesThatPassExtenders, recording rejected nodes in statuses
// (and in the decision record).
func (s *Scheduler) filterByExtenders(pod *corev1.Pod, feasible []*framework.NodeInfo, statuses framework.NodeToStatus, rec *Decision) ([]*framework.NodeInfo, error) {
	if len(s.extenders) == 0 {
		return feasible, nil
	}
	nodes := make([]*corev1.Node, len(feasible))
	byName := make(map[string]*framework.NodeInfo, len(feasible))
	for i, ni := range feasible {
		nodes[i] = ni.Node
		byName[ni.Name()] = ni
	}
	kept, err := extender.FindNodesThatPassExtenders(s.extenders, pod, nodes, statuses)
	if err != nil {
		return nil, err
	}
	out := make([]*framework.NodeInfo, 0, len(kept))
	for _, n := range kept {
		out = append(out, byName[n.Name])
	}
	if rec != nil {
		for _, n := range nodes {
			if st, rejected := statuses[n.Name]; rejected {
				for i := range rec.Filter {
					if rec.Filter[i].Node == n.Name {
						rec.Filter[i].Fits, rec.Filter[i].Plugin, rec.Filter[i].Reason = false, st.Plugin(), st.Message()
					}
				}
			}
		}
	}
	return out, nil
}

// filterNode runs the filters on a node as if the pods nominated to it with a priority at
// least the pod's were already there, so that the room preemption made for them is kept
// (upstream runs the filters with and without them; Orrery keeps the stricter pass).
func (s *Scheduler) filterNode(filters []framework.FilterPlugin, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if len(s.nominated) == 0 {
		return runFilters(filters, state, pod, ni)
	}
	set := s.nominated[ni.Name()]
	if len(set) == 0 {
		return runFilters(filters, state, pod, ni)
	}
	prio := corev1helpers.PodPriority(pod)
	self := pod.Namespace + "/" + pod.Name
	var with *framework.NodeInfo
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pi := set[k]
		if k == self || corev1helpers.PodPriority(pi.Pod) < prio {
			continue
		}
		if with == nil {
			with = ni.Clone()
		}
		with.AddPod(k, pi)
	}
	if with == nil {
		return runFilters(filters, state, pod, ni)
	}
	return runFilters(filters, state, pod, with)
}

// runFilters runs the filter plugins on one node, stopping at the first rejection; filters
// are the profile's less those whose PreFilter returned Skip (see activeFilters).
func runFilters(filters []framework.FilterPlugin, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	for _, f := range filters {
		if st := f.Filter(state, pod, ni); !st.IsSuccess() {
			return st.WithPlugin(f.Name())
		}
	}
	return nil
}

// activeFilters returns the profile's filter plugins less those skipped this cycle, so that
// the per-node loop does not test the skips again on every node. buf, if not nil, is
// reused for the result.
func activeFilters(prof *Profile, state *framework.CycleState, buf []framework.FilterPlugin) []framework.FilterPlugin {
	skip := state.SkipFilter
	if skip == nil {
		return prof.Filter
	}
	out := buf[:0]
	for i, f := range prof.Filter {
		if !skip[i] {
			out = append(out, f)
		}
	}
	return out
}

// filterIndex and scoreIndex find a plugin in the profile's Filter and Score lists by
// name (-1 if absent); the lists are short.
func filterIndex(prof *Profile, name string) int {
	for i, f := range prof.Filter {
		if f.Name() == name {
			return i
		}
	}
	return -1
}

func scoreIndex(prof *Profile, name string) int {
	for i, ws := range prof.Score {
		if ws.Plugin.Name() == name {
			return i
		}
	}
	return -1
}

// cycleState returns the scheduler's cycle state, recycled for a new cycle: a cycle ends
// before the next begins, and nothing keeps a cycle's state (plugins read it only while
// called with it), so every cycle can use the same one and plugins can reuse what they
// wrote in it the cycle before (framework.CycleState.Recycled).
func (s *Scheduler) cycleState() *framework.CycleState {
	if s.state == nil {
		s.state = framework.NewCycleState()
	}
	s.state.Recycle()
	return s.state
}

func (s *Scheduler) assumeAndBind(qp *queuedPod, prof *Profile, state *framework.CycleState, node string, rec *Decision) {
	pod, key := qp.pod, qp.key
	// Assume: account the pod on the node now, so the next cycle sees it, before the bind.
	// The cache holds the informer's pod object itself, with spec.nodeName still empty
	// until the bound pod comes back: no plugin reads the nodeName of the pods in the
	// cache (the NodeInfo says where they are), and no one changes a cached object (they
	// are replaced), so a copy with the node set would only cost the copy.
	s.accountPodInfo(key, qp.podInfo(), node)
	s.assumed[key] = true
	undo := func(reserved int, reason string, st *framework.Status) {
		for j := reserved - 1; j >= 0; j-- {
			prof.Reserve[j].Unreserve(state, pod, node)
		}
		s.forgetPod(key)
		msg := reason + ": " + st.Message()
		if st.Code() == framework.Error {
			s.failed(qp, rec, framework.Error, msg)
		} else {
			s.failed(qp, rec, framework.Unschedulable, msg)
		}
	}
	for i, p := range prof.Reserve {
		if st := p.Reserve(state, pod, node); !st.IsSuccess() {
			undo(i+1, "Reserve "+p.Name(), st)
			return
		}
	}
	for _, p := range prof.Permit {
		if st := p.Permit(state, pod, node); !st.IsSuccess() {
			undo(len(prof.Reserve), "Permit "+p.Name(), st)
			return
		}
	}
	for _, p := range prof.PreBind {
		if st := p.PreBind(state, pod, node); !st.IsSuccess() {
			undo(len(prof.Reserve), "PreBind "+p.Name(), st)
			return
		}
	}
	binders := prof.Bind
	if b := extender.Binder(s.extenders, pod); b != nil {
		binders = []framework.BindPlugin{extenderBinder{b}}
	}
	for _, p := range binders {
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
			s.event(prof.SchedulerName, pod, corev1.EventTypeWarning, "FailedScheduling", "Binding rejected: "+st.Message())
			if rec != nil {
				rec.Result, rec.Message = "BindError", st.Message()
			}
			s.queue.requeueBackoff(qp)
			return
		}
		break
	}
	for _, p := range prof.PostBind {
		p.PostBind(state, pod, node)
	}
	s.queue.done(key)
	if rec != nil {
		rec.Result, rec.Chosen = "Scheduled", node
	}
	msg := "Successfully assigned " + pod.Namespace + "/" + pod.Name + " to " + node
	s.log.Action(s.identity, "Scheduled", "pods", pod.Namespace, pod.Name, msg)
	s.event(prof.SchedulerName, pod, corev1.EventTypeNormal, "Scheduled", msg)
}

// extenderBinder binds through an HTTP extender, in place of the Bind plugins, as upstream's
// extendersBinding.
type extenderBinder struct{ e *extender.Extender }

func (b extenderBinder) Name() string { return "extender:" + b.e.Name() }

func (b extenderBinder) Bind(_ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	err := b.e.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: node}})
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	return nil
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
// (round robin), until enough feasible nodes are found. It returns the status of every
// rejected node.
func (s *Scheduler) findNodesThatFit(prof *Profile, state *framework.CycleState, pod *corev1.Pod, rec *Decision) ([]*framework.NodeInfo, framework.NodeToStatus) {
	n := len(s.nodeOrder)
	want := numFeasibleNodesToFind(prof.PercentageOfNodesToScore, n)
	feasible := s.bufFeasible[:0]
	defer func() { s.bufFeasible = feasible[:0] }()
	var statuses framework.NodeToStatus
	processed := 0
	filters := activeFilters(prof, state, s.bufFilters)
	if len(filters) > 0 && &filters[0] != &prof.Filter[0] {
		s.bufFilters = filters[:0]
	}
	// idx walks the nodes from the round-robin start, wrapping at the end (a comparison
	// per node where a modulo would cost a division).
	idx := 0
	if n > 0 {
		idx = s.nextStartNodeIndex % n
	}
	for i := 0; i < n && len(feasible) < want; i++ {
		ni := s.nodeOrder[idx]
		if idx++; idx == n {
			idx = 0
		}
		processed++
		st := s.filterNode(filters, state, pod, ni)
		if rec != nil {
			v := FilterVerdict{Node: ni.Name(), Fits: st.IsSuccess()}
			if !v.Fits {
				v.Plugin, v.Reason = st.Plugin(), st.Message()
			}
			rec.Filter = append(rec.Filter, v)
		}
		if st.IsSuccess() {
			feasible = append(feasible, ni)
			continue
		}
		if statuses == nil {
			// One map serves every cycle: the statuses are read within the cycle only
			// (the fit error's message, PostFilter), and a full cluster fills it with
			// every node each time.
			if s.bufStatuses == nil {
				s.bufStatuses = framework.NodeToStatus{}
			}
			clear(s.bufStatuses)
			statuses = s.bufStatuses
		}
		statuses[ni.Name()] = st
	}
	if n > 0 {
		s.nextStartNodeIndex = (s.nextStartNodeIndex + processed) % n
	}
	return feasible, statuses
}

// fitErrorMessage is kube-scheduler's FitError text: "0/N nodes are available: " then
// "count reason" entries sorted as strings.
func fitErrorMessage(numAll int, statuses framework.NodeToStatus) string {
	counts := map[string]int{}
	for _, st := range statuses {
		for _, r := range st.Reasons() {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, c := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", c, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", numAll, strings.Join(parts, ", "))
}

func (s *Scheduler) prioritize(prof *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, rec *Decision) ([]int64, *framework.Status) {
	for _, p := range prof.PreScore {
		st := p.PreScore(state, pod, nodes)
		if st.Code() == framework.Skip {
			state.SkipScoreAt(len(prof.Score), scoreIndex(prof, p.Name()))
			continue
		}
		if !st.IsSuccess() {
			return nil, st.WithPlugin(p.Name())
		}
	}
	if cap(s.bufTotal) < len(nodes) {
		s.bufTotal = make([]int64, len(nodes))
		s.bufScores = make([]framework.NodeScore, len(nodes))
	}
	total := s.bufTotal[:len(nodes)]
	clear(total)
	scores := s.bufScores[:len(nodes)]
	if rec != nil {
		rec.Scores = make([]NodeScores, len(nodes))
		for i, ni := range nodes {
			rec.Scores[i].Node = ni.Name()
		}
	}
	for i, ni := range nodes {
		scores[i].Name = ni.Name()
	}
	for si, ws := range prof.Score {
		if state.SkipScore != nil && state.SkipScore[si] {
			continue
		}
		if ns, ok := ws.Plugin.(framework.NodesScorer); ok {
			if st := ns.ScoreNodes(state, pod, nodes, scores); !st.IsSuccess() {
				return nil, st.WithPlugin(ws.Plugin.Name())
			}
		} else {
			for i, ni := range nodes {
				sc, st := ws.Plugin.Score(state, pod, ni)
				if !st.IsSuccess() {
					return nil, st.WithPlugin(ws.Plugin.Name())
				}
				scores[i].Score = sc
			}
		}
		var raw []int64
		if rec != nil {
			raw = make([]int64, len(scores))
			for i := range scores {
				raw[i] = scores[i].Score
			}
		}
		if ext, ok := ws.Plugin.(framework.ScoreExtensions); ok {
			if st := ext.NormalizeScore(state, pod, scores); !st.IsSuccess() {
				return nil, st.WithPlugin(ws.Plugin.Name())
			}
		}
		for i := range scores {
			total[i] += scores[i].Score * ws.Weight
			if rec != nil {
				rec.Scores[i].Plugins = append(rec.Scores[i].Plugins, PluginScore{Plugin: ws.Plugin.Name(), Raw: raw[i], Normalized: scores[i].Score, Weight: ws.Weight})
			}
		}
	}
	if len(s.extenders) > 0 {
		s.prioritizeByExtenders(pod, nodes, total, rec)
	}
	if rec != nil {
		for i := range total {
			rec.Scores[i].Total = total[i]
		}
	}
	return total, nil
}

// prioritizeByExtenders adds the HTTP extenders' scaled scores to the plugins' totals, as
// upstream's prioritizeNodes; a failing extender contributes nothing (it is logged).
func (s *Scheduler) prioritizeByExtenders(pod *corev1.Pod, nodes []*framework.NodeInfo, total []int64, rec *Decision) {
	list := make([]*corev1.Node, len(nodes))
	for i, ni := range nodes {
		list[i] = ni.Node
	}
	scores, ignored := extender.PrioritizeNodes(s.extenders, pod, list)
	for _, err := range ignored {
		s.log.Action(s.identity, "ExtenderError", "pods", pod.Namespace, pod.Name, err.Error())
	}
	for i, ni := range nodes {
		sc := scores[ni.Name()]
		total[i] += sc
		if rec != nil {
			rec.Scores[i].Plugins = append(rec.Scores[i].Plugins, PluginScore{Plugin: "extenders", Raw: sc, Normalized: sc, Weight: 1})
		}
	}
}

// selectHost picks the highest total score; among equal best scores it picks one uniformly
// from the scheduler's seeded stream, as upstream breaks ties at random. Upstream samples a
// reservoir (one draw per tie); one draw over the count of ties gives the same uniform
// choice at a cost that does not grow with the ties.
func (s *Scheduler) selectHost(nodes []*framework.NodeInfo, scores []int64) *framework.NodeInfo {
	best, count := scores[0], 1
	for _, sc := range scores[1:len(nodes)] {
		switch {
		case sc > best:
			best, count = sc, 1
		case sc == best:
			count++
		}
	}
	pick := 0
	if count > 1 {
		pick = s.rand.IntN(count)
	}
	for i, sc := range scores[:len(nodes)] {
		if sc == best {
			if pick == 0 {
				return nodes[i]
			}
			pick--
		}
	}
	return nodes[0] // unreachable: best is one of the scores
}

// failed records a failed attempt: the FailedScheduling action, the PodScheduled=False
// condition on the pod (if it changed), and the pod back in the queue.
func (s *Scheduler) failed(qp *queuedPod, rec *Decision, code framework.Code, msg string) {
	s.recordFailure(qp, rec, code, msg, "")
}

// recordFailure is failed that also records the node preemption nominated, if any.
func (s *Scheduler) recordFailure(qp *queuedPod, rec *Decision, code framework.Code, msg, nominated string) {
	pod := qp.pod
	if rec != nil {
		rec.Result, rec.Message = "Unschedulable", msg
		if code == framework.Error {
			rec.Result = "Error"
		}
	}
	s.log.Action(s.identity, "FailedScheduling", "pods", pod.Namespace, pod.Name, msg)
	s.event(schedulerNameOf(pod), pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}
	if code == framework.Error {
		cond.Reason = "SchedulerError"
	}
	if cur := podCondition(pod, corev1.PodScheduled); cur == nil || cur.Status != cond.Status || cur.Reason != cond.Reason || cur.Message != cond.Message || (nominated != "" && pod.Status.NominatedNodeName != nominated) {
		next := pod.DeepCopy()
		if nominated != "" {
			next.Status.NominatedNodeName = nominated
			s.setNominated(qp.key, next) // at once, as upstream's nominator: do not wait for the watch
		}
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

// schedulerNameOf is the profile a pod asked for (defaulted by the API server).
func schedulerNameOf(pod *corev1.Pod) string {
	if pod.Spec.SchedulerName == "" {
		return DefaultSchedulerName
	}
	return pod.Spec.SchedulerName
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
