// Package podtopologyspread is the PodTopologySpread plugin: a pod's DoNotSchedule
// topology spread constraints filter nodes whose domain would exceed maxSkew, and its
// ScheduleAnyway constraints (or the cluster's default constraints) score nodes by how
// few matching pods their domains hold.
package podtopologyspread

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "PodTopologySpread"

// PodTopologySpread is the plugin.
type PodTopologySpread struct {
	h                  framework.Handle
	defaultConstraints []corev1.TopologySpreadConstraint
	systemDefaulted    bool
}

var (
	_ framework.PreFilterPlugin = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin    = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin  = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin     = (*PodTopologySpread)(nil)
	_ framework.ScoreExtensions = (*PodTopologySpread)(nil)
)

// New builds the plugin from *configv1.PodTopologySpreadArgs (or nil for the defaults:
// System defaulting).
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	a, err := decodeArgs(args)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%s: a framework handle is required", Name)
	}
	pl := &PodTopologySpread{h: h, defaultConstraints: a.DefaultConstraints}
	if a.DefaultingType == SystemDefaulting {
		pl.defaultConstraints = systemDefaultConstraints
		pl.systemDefaulted = true
	}
	return pl, nil
}

// Name returns the plugin's name.
func (*PodTopologySpread) Name() string { return Name }

// topologySpreadConstraint is a constraint with its selector parsed and its optional
// fields defaulted.
type topologySpreadConstraint struct {
	MaxSkew            int32
	TopologyKey        string
	Selector           labels.Selector
	MinDomains         int32
	NodeAffinityPolicy corev1.NodeInclusionPolicy
	NodeTaintsPolicy   corev1.NodeInclusionPolicy
}

// matchNodeInclusionPolicies reports whether node counts for the constraint: under Honor,
// it must match the pod's required node affinity and selector (nodeAffinityPolicy) and
// carry no NoSchedule/NoExecute taint the pod does not tolerate (nodeTaintsPolicy).
func (c *topologySpreadConstraint) matchNodeInclusionPolicies(pod *corev1.Pod, node *corev1.Node, req nodeaffinity.RequiredNodeAffinity) bool {
	if c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor {
		// Parsing errors are ignored, as upstream does.
		if match, _ := req.Match(node); !match {
			return false
		}
	}
	if c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, doNotScheduleTaints); untolerated {
			return false
		}
	}
	return true
}

func doNotScheduleTaints(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// filterTopologySpreadConstraints parses the constraints with the given action, merging
// matchLabelKeys (the pod's values for them) into the selector.
func filterTopologySpreadConstraints(constraints []corev1.TopologySpreadConstraint, podLabels map[string]string, action corev1.UnsatisfiableConstraintAction) ([]topologySpreadConstraint, error) {
	var out []topologySpreadConstraint
	for i := range constraints {
		c := &constraints[i]
		if c.WhenUnsatisfiable != action {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		if len(c.MatchLabelKeys) > 0 {
			matchLabels := labels.Set{}
			for _, k := range c.MatchLabelKeys {
				if v, ok := podLabels[k]; ok {
					matchLabels[k] = v
				}
			}
			if len(matchLabels) > 0 {
				selector = mergeLabelSetWithSelector(matchLabels, selector)
			}
		}
		tsc := topologySpreadConstraint{
			MaxSkew:            c.MaxSkew,
			TopologyKey:        c.TopologyKey,
			Selector:           selector,
			MinDomains:         1,
			NodeAffinityPolicy: corev1.NodeInclusionPolicyHonor,
			NodeTaintsPolicy:   corev1.NodeInclusionPolicyIgnore,
		}
		if c.MinDomains != nil {
			tsc.MinDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			tsc.NodeAffinityPolicy = *c.NodeAffinityPolicy
		}
		if c.NodeTaintsPolicy != nil {
			tsc.NodeTaintsPolicy = *c.NodeTaintsPolicy
		}
		out = append(out, tsc)
	}
	return out, nil
}

func mergeLabelSetWithSelector(matchLabels labels.Set, s labels.Selector) labels.Selector {
	merged := labels.SelectorFromSet(matchLabels)
	reqs, ok := s.Requirements()
	if !ok {
		return s
	}
	for _, r := range reqs {
		merged = merged.Add(r)
	}
	return merged
}

// getConstraints returns the pod's constraints with the given action, or the default
// constraints if the pod has none.
func (pl *PodTopologySpread) getConstraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]topologySpreadConstraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return filterTopologySpreadConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, action)
	}
	return pl.buildDefaultConstraints(pod, action)
}

// buildDefaultConstraints gives a pod without constraints the default constraints, with
// the selector of the workload it belongs to.
func (pl *PodTopologySpread) buildDefaultConstraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]topologySpreadConstraint, error) {
	// Upstream parses the constraints first, then gives up if the selector is empty; the
	// default constraints cannot fail to parse (they may not have a selector, see
	// Args.Validate), so looking at the selector first changes nothing but saves parsing
	// (and allocating) for the many pods that have no workload selector.
	if !hasAction(pl.defaultConstraints, action) {
		return nil, nil
	}
	selector := defaultSelector(pod)
	if selector.Empty() {
		return nil, nil
	}
	constraints, err := filterTopologySpreadConstraints(pl.defaultConstraints, pod.Labels, action)
	if err != nil || len(constraints) == 0 {
		return nil, err
	}
	for i := range constraints {
		constraints[i].Selector = selector
	}
	return constraints, nil
}

// hasAction reports whether any of the constraints has the given action.
func hasAction(constraints []corev1.TopologySpreadConstraint, action corev1.UnsatisfiableConstraintAction) bool {
	for i := range constraints {
		if constraints[i].WhenUnsatisfiable == action {
			return true
		}
	}
	return false
}

// perPodLabels are labels a controller sets to a different value on every pod, or on
// every revision, and never puts in the workload's selector.
var perPodLabels = map[string]bool{
	"statefulset.kubernetes.io/pod-name": true,
	"apps.kubernetes.io/pod-index":       true,
	"controller-revision-hash":           true,
}

// defaultSelector approximates upstream's helper.DefaultSelector, which ANDs the selectors
// of the Services, ReplicationControllers, ReplicaSets and StatefulSets selecting the pod.
// The plugin sees neither workloads nor Services through the Handle, so a pod controlled by
// a ReplicaSet, StatefulSet or ReplicationController gets a selector of its own labels
// (less the per-pod ones): its siblings from the same template match it, as they match the
// workload's selector. Pods without such a controller get no default constraints.
func defaultSelector(pod *corev1.Pod) labels.Selector {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return labels.NewSelector()
	}
	switch ref.Kind {
	case "ReplicaSet", "StatefulSet", "ReplicationController":
	default:
		return labels.NewSelector()
	}
	set := labels.Set{}
	for k, v := range pod.Labels {
		if !perPodLabels[k] {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return labels.NewSelector()
	}
	return labels.SelectorFromSet(set)
}

// nodeLabelsMatchSpreadConstraints reports whether the node has every constraint's key.
func nodeLabelsMatchSpreadConstraints(nodeLabels map[string]string, constraints []topologySpreadConstraint) bool {
	for i := range constraints {
		if _, ok := nodeLabels[constraints[i].TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// countPodsMatchSelector counts the non-terminating pods in namespace ns that selector
// matches.
func countPodsMatchSelector(pods []*framework.PodInfo, selector labels.Selector, ns string) int {
	if selector.Empty() {
		return 0
	}
	n := 0
	for _, p := range pods {
		if p.Pod.DeletionTimestamp != nil || p.Pod.Namespace != ns {
			continue
		}
		if selector.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}
