// Package defaultpreemption is the DefaultPreemption plugin: when a pod fits no node, it
// looks for a node where evicting lower-priority pods would make room, keeps the fewest
// victims (reprieving as many as still leave room, PDB-protected pods first), picks the
// node by upstream's criteria, deletes the victims and nominates the node for the pod.
package defaultpreemption

import (
	"fmt"
	"math"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "DefaultPreemption"

// Upstream's defaults for DefaultPreemptionArgs.
const (
	DefaultMinCandidateNodesPercentage = 10
	DefaultMinCandidateNodesAbsolute   = 100
)

// Reasons, as upstream words them in the "preemption: ..." part of the message.
const (
	ReasonNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims  = "No preemption victims found for incoming pod"
	// ReasonDisruption is the DisruptionTarget condition's reason on a victim.
	ReasonDisruption  = "PreemptionByScheduler"
	messageDisruption = "Kubernetes default scheduler: preempting to accommodate a higher priority pod"
)

// DefaultPreemption is the plugin.
type DefaultPreemption struct {
	h          framework.Handle
	filters    framework.FilterRunner
	pdbs       framework.PDBLister
	percentage int32
	absolute   int32
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// New builds the plugin; args is *configv1.DefaultPreemptionArgs or nil. The handle must
// run filters (framework.FilterRunner); PDBs are counted if it lists them.
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	p := &DefaultPreemption{h: h, percentage: DefaultMinCandidateNodesPercentage, absolute: DefaultMinCandidateNodesAbsolute}
	switch a := args.(type) {
	case nil:
	case *configv1.DefaultPreemptionArgs:
		if a.MinCandidateNodesPercentage != nil {
			p.percentage = *a.MinCandidateNodesPercentage
		}
		if a.MinCandidateNodesAbsolute != nil {
			p.absolute = *a.MinCandidateNodesAbsolute
		}
	default:
		return nil, fmt.Errorf("%s: want *DefaultPreemptionArgs, got %T", Name, args)
	}
	fr, ok := h.(framework.FilterRunner)
	if !ok {
		return nil, fmt.Errorf("%s: the scheduler handle cannot run filters", Name)
	}
	p.filters = fr
	p.pdbs, _ = h.(framework.PDBLister)
	return p, nil
}

// Name returns the plugin's name.
func (p *DefaultPreemption) Name() string { return Name }

// candidate is a node where preemption would make room, with its victims.
type candidate struct {
	node          string
	victims       []*framework.PodInfo
	pdbViolations int
}

// PostFilter tries to make room for pod by preempting lower-priority pods.
func (p *DefaultPreemption) PostFilter(state *framework.CycleState, pod *corev1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if msg, ok := p.eligible(pod); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, msg)
	}
	nodes := p.h.NodeInfos()
	reasons := map[string]int{}
	var potential []*framework.NodeInfo
	for _, ni := range nodes {
		st := filtered[ni.Name()]
		if st == nil || st.Code() == framework.UnschedulableAndUnresolvable {
			reasons[ReasonNotHelpful]++
			continue
		}
		potential = append(potential, ni)
	}
	want := int(p.absolute)
	if n := len(nodes) * int(p.percentage) / 100; n > want {
		want = n
	}
	var pdbs []*policyv1.PodDisruptionBudget
	if p.pdbs != nil {
		pdbs = p.pdbs.PodDisruptionBudgets()
	}
	var cands []candidate
	if len(potential) > 0 {
		offset := p.h.Rand().IntN(len(potential))
		for i := 0; i < len(potential) && len(cands) < want; i++ {
			ni := potential[(offset+i)%len(potential)]
			if c, ok := p.selectVictims(state, pod, ni, pdbs); ok {
				cands = append(cands, c)
			} else {
				reasons[ReasonNoVictims]++
			}
		}
	}
	if len(cands) == 0 {
		return nil, framework.NewStatus(framework.Unschedulable, summarize(len(nodes), reasons))
	}
	best := pickOne(cands)
	if err := p.prepare(pod, best); err != nil {
		return nil, framework.NewStatus(framework.Error, err.Error())
	}
	return &framework.PostFilterResult{NominatedNodeName: best.node}, nil
}

func summarize(numNodes int, reasons map[string]int) string {
	parts := make([]string, 0, len(reasons))
	for r, c := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", c, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", numNodes, strings.Join(parts, ", "))
}

// eligible says whether the pod may preempt at all, with upstream's reasons.
func (p *DefaultPreemption) eligible(pod *corev1.Pod) (string, bool) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return "not eligible due to preemptionPolicy=Never.", false
	}
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni, ok := p.h.NodeInfo(nn); ok {
			prio := corev1helpers.PodPriority(pod)
			for _, pi := range ni.PodList() {
				if pi.Pod.DeletionTimestamp != nil && corev1helpers.PodPriority(pi.Pod) < prio {
					return "not eligible due to a terminating pod on the nominated node.", false
				}
			}
		}
	}
	return "", true
}

// moreImportant orders pods by priority, then earlier start time.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := corev1helpers.PodPriority(a), corev1helpers.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a).Before(startTime(b))
}

func startTime(p *corev1.Pod) *metav1.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime
	}
	return &p.CreationTimestamp
}

// selectVictims finds the fewest lower-priority pods to evict from ni so that pod fits:
// remove them all, check the pod fits, then add back as many as still leave room, trying
// PDB-protected pods first.
func (p *DefaultPreemption) selectVictims(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) (candidate, bool) {
	prio := corev1helpers.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range ni.PodList() {
		if pi.Priority < prio {
			potential = append(potential, pi)
		}
	}
	// Without lower-priority pods the node is as it was when the pod failed to fit:
	// upstream would find no victims there, so there is nothing to clone and re-filter.
	if len(potential) == 0 {
		return candidate{}, false
	}
	clone := ni.Clone()
	keys := make(map[*framework.PodInfo]string, len(ni.Pods))
	for k, pi := range ni.Pods {
		keys[pi] = k
	}
	for _, pi := range potential {
		clone.RemovePod(keys[pi], pi)
	}
	if st := p.filters.RunFilters(state, pod, clone); !st.IsSuccess() {
		return candidate{}, false
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violating, nonViolating := splitByPDB(potential, pdbs)
	c := candidate{node: ni.Name()}
	reprieve := func(pi *framework.PodInfo) bool {
		clone.AddPod(keys[pi], pi)
		if st := p.filters.RunFilters(state, pod, clone); !st.IsSuccess() {
			clone.RemovePod(keys[pi], pi)
			c.victims = append(c.victims, pi)
			return false
		}
		return true
	}
	for _, pi := range violating {
		if !reprieve(pi) {
			c.pdbViolations++
		}
	}
	for _, pi := range nonViolating {
		reprieve(pi)
	}
	return c, true
}

// splitByPDB separates pods whose eviction would exceed a PodDisruptionBudget's allowed
// disruptions from the others, keeping each list's order.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && pdb.Spec.Selector != nil {
			selectors[i] = sel
		} else {
			selectors[i] = labels.Nothing()
		}
	}
	for _, pi := range pods {
		violates := false
		for i, pdb := range pdbs {
			if pdb.Namespace != pi.Pod.Namespace || selectors[i].Empty() || !selectors[i].Matches(labels.Set(pi.Pod.Labels)) {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violates = true
			}
		}
		if violates {
			violating = append(violating, pi)
		} else {
			nonViolating = append(nonViolating, pi)
		}
	}
	return violating, nonViolating
}

// pickOne chooses among candidates by upstream's criteria, in order: fewest PDB
// violations; lowest highest-victim priority; lowest sum of victim priorities; fewest
// victims; latest start of the highest-priority victims; then the first.
func pickOne(cands []candidate) candidate {
	type key struct {
		violations int
		highest    int64
		sum        int64
		count      int
		start      int64
	}
	keyOf := func(c candidate) key {
		k := key{violations: c.pdbViolations, count: len(c.victims), highest: math.MinInt64}
		var earliestOfHighest int64 = math.MaxInt64
		for _, v := range c.victims {
			pr := int64(corev1helpers.PodPriority(v.Pod))
			// Upstream shifts priorities so that negative ones still sum in order.
			k.sum += pr + math.MaxInt32 + 1
			if pr > k.highest {
				k.highest = pr
				earliestOfHighest = math.MaxInt64
			}
			if pr == k.highest {
				if t := startTime(v.Pod).UnixNano(); t < earliestOfHighest {
					earliestOfHighest = t
				}
			}
		}
		k.start = earliestOfHighest
		return k
	}
	best, bk := cands[0], keyOf(cands[0])
	for _, c := range cands[1:] {
		ck := keyOf(c)
		better := false
		switch {
		case ck.violations != bk.violations:
			better = ck.violations < bk.violations
		case ck.highest != bk.highest:
			better = ck.highest < bk.highest
		case ck.sum != bk.sum:
			better = ck.sum < bk.sum
		case ck.count != bk.count:
			better = ck.count < bk.count
		case ck.start != bk.start:
			better = ck.start > bk.start
		}
		if better {
			best, bk = c, ck
		}
	}
	return best
}

// prepare evicts the victims (DisruptionTarget condition, then delete) and clears the
// nomination of lower-priority pods nominated to the same node.
func (p *DefaultPreemption) prepare(pod *corev1.Pod, c candidate) error {
	client := p.h.Client()
	for _, v := range c.victims {
		victim := v.Pod.DeepCopy()
		victim.Status.Conditions = append(victim.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: ReasonDisruption, Message: messageDisruption,
		})
		_ = client.UpdatePodStatus(victim) // best effort, as upstream: the delete is what matters
		if err := client.DeletePod(victim.Namespace, victim.Name); err != nil {
			return fmt.Errorf("preempt %s/%s: %w", victim.Namespace, victim.Name, err)
		}
		if rec, ok := p.h.(framework.EventRecorder); ok {
			rec.Eventf(v.Pod, corev1.EventTypeNormal, "Preempted", "Preempted by pod %s on node %s", pod.UID, c.node)
		}
	}
	// Lower-priority pods nominated to the node lose their nomination: the preemptor
	// takes the room (upstream's getLowerPriorityNominatedPods).
	prio := corev1helpers.PodPriority(pod)
	if nom, ok := p.h.(framework.Nominator); ok {
		for _, pi := range nom.NominatedPodsForNode(c.node) {
			if pi.Pod.UID != pod.UID && corev1helpers.PodPriority(pi.Pod) < prio {
				next := pi.Pod.DeepCopy()
				next.Status.NominatedNodeName = ""
				_ = client.UpdatePodStatus(next)
			}
		}
	}
	return nil
}
