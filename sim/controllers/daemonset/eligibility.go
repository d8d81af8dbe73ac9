package daemonset

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Taint keys the default DaemonSet tolerations name, as upstream's well-known taints.
const (
	TaintNodeNotReady           = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable        = "node.kubernetes.io/unreachable"
	TaintNodeDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintNodeMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintNodePIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNodeUnschedulable      = "node.kubernetes.io/unschedulable"
	TaintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable"
)

// DefaultTolerations returns the tolerations upstream adds to every DaemonSet pod: the
// not-ready and unreachable NoExecute taints for ever (no tolerationSeconds), the pressure
// and unschedulable NoSchedule taints, and network-unavailable for host-network pods.
func DefaultTolerations(hostNetwork bool) []corev1.Toleration {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	out := []corev1.Toleration{
		exists(TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if hostNetwork {
		out = append(out, exists(TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	return out
}

// addDefaultTolerations adds or replaces the default tolerations in spec, as upstream's
// AddOrUpdateDaemonPodTolerations: a toleration of the same key, operator, value and effect
// is replaced, any other kept.
func addDefaultTolerations(spec *corev1.PodSpec) {
	for _, tol := range DefaultTolerations(spec.HostNetwork) {
		addOrUpdateToleration(spec, tol)
	}
}

func addOrUpdateToleration(spec *corev1.PodSpec, tol corev1.Toleration) {
	var out []corev1.Toleration
	replaced := false
	for i := range spec.Tolerations {
		if tol.MatchToleration(&spec.Tolerations[i]) {
			if equality.Semantic.DeepEqual(tol, spec.Tolerations[i]) {
				return
			}
			out = append(out, tol)
			replaced = true
			continue
		}
		out = append(out, spec.Tolerations[i])
	}
	if !replaced {
		out = append(out, tol)
	}
	spec.Tolerations = out
}

// eligibility checks nodes against one DaemonSet: the pod it would run, with the default
// tolerations, parsed once for every node of a sync.
type eligibility struct {
	nodeName    string
	affinity    nodeaffinity.RequiredNodeAffinity
	tolerations []corev1.Toleration
}

func newEligibility(ds *appsv1.DaemonSet) *eligibility {
	// A shallow copy: addDefaultTolerations builds a new slice and changes nothing else.
	pod := &corev1.Pod{Spec: ds.Spec.Template.Spec, ObjectMeta: ds.Spec.Template.ObjectMeta}
	pod.Namespace = ds.Namespace
	addDefaultTolerations(&pod.Spec)
	return &eligibility{nodeName: ds.Spec.Template.Spec.NodeName, affinity: nodeaffinity.GetRequiredNodeAffinity(pod), tolerations: pod.Spec.Tolerations}
}

// NodeShouldRunDaemonPod reports, as upstream's function of the same name, whether a new
// daemon pod should run on node (shouldRun) and whether a daemon pod already there may keep
// running (shouldContinueRunning). A node is ineligible when the template names another
// node, when its nodeSelector or required node affinity does not match, or when it has a
// NoSchedule or NoExecute taint the pod does not tolerate; of those, only an untolerated
// NoExecute taint (or a mismatch of name or affinity) evicts a running pod.
func NodeShouldRunDaemonPod(node *corev1.Node, ds *appsv1.DaemonSet) (shouldRun, shouldContinueRunning bool) {
	return newEligibility(ds).check(node)
}

func (e *eligibility) check(node *corev1.Node) (shouldRun, shouldContinueRunning bool) {
	if e.nodeName != "" && e.nodeName != node.Name {
		return false, false
	}
	// A selector that does not parse matches nothing, as upstream ignores the error.
	if ok, _ := e.affinity.Match(node); !ok {
		return false, false
	}
	_, untolerated := v1helper.FindMatchingUntoleratedTaint(node.Spec.Taints, e.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	})
	if !untolerated {
		return true, true
	}
	_, untoleratedNoExecute := v1helper.FindMatchingUntoleratedTaint(node.Spec.Taints, e.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	})
	return false, !untoleratedNoExecute
}

// nodeNameAffinity returns affinity with its required node affinity replaced by the single
// term `metadata.name In [node]` (matchFields), so that the default scheduler places the
// pod on node, as upstream's ReplaceDaemonSetPodNodeNameNodeAffinity. The DaemonSet's own
// required terms have already been checked against the node.
func nodeNameAffinity(affinity *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return affinity
}

// targetNodeName returns the node a daemon pod is for: its spec.nodeName once bound, else
// the node its `metadata.name In [node]` matchFields term names.
func targetNodeName(pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, nil
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", fmt.Errorf("no spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution for pod %s/%s", pod.Namespace, pod.Name)
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, req := range term.MatchFields {
			if req.Key == metav1.ObjectNameField && req.Operator == corev1.NodeSelectorOpIn {
				if len(req.Values) != 1 {
					return "", fmt.Errorf("the matchFields value of '%s' is not unique for pod %s/%s", metav1.ObjectNameField, pod.Namespace, pod.Name)
				}
				return req.Values[0], nil
			}
		}
	}
	return "", fmt.Errorf("no node name found for pod %s/%s", pod.Namespace, pod.Name)
}
