package nodelifecycle

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/informer"
)

// conditionTaints are the NoSchedule taints upstream's controller keeps in step with node
// conditions on every node update (its taintNodeByCondition pass), besides the not-ready
// and unreachable ones the monitor handles.
var conditionTaints = []struct {
	condition corev1.NodeConditionType
	key       string
}{
	{corev1.NodeMemoryPressure, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.TaintNodeDiskPressure},
	{corev1.NodePIDPressure, corev1.TaintNodePIDPressure},
	{corev1.NodeNetworkUnavailable, corev1.TaintNodeNetworkUnavailable},
}

// conditionTaintKeys returns the keys of the condition taints the node should carry
// (pressure conditions True, and unschedulable for a cordoned node), sorted.
func conditionTaintKeys(n *corev1.Node) []string {
	var keys []string
	for _, ct := range conditionTaints {
		for _, c := range n.Status.Conditions {
			if c.Type == ct.condition && c.Status == corev1.ConditionTrue {
				keys = append(keys, ct.key)
			}
		}
	}
	if n.Spec.Unschedulable {
		keys = append(keys, corev1.TaintNodeUnschedulable)
	}
	sort.Strings(keys)
	return keys
}

// isConditionTaint reports whether a taint is one this pass owns.
func isConditionTaint(t corev1.Taint) bool {
	if t.Effect != corev1.TaintEffectNoSchedule {
		return false
	}
	if t.Key == corev1.TaintNodeUnschedulable {
		return true
	}
	for _, ct := range conditionTaints {
		if t.Key == ct.key {
			return true
		}
	}
	return false
}

// watchConditions runs the condition-taint pass whenever a node is added or changes.
func (c *Controller) watchConditions() {
	enqueue := func(name string) {
		c.clock.After(0, func() { c.reconcileConditionTaints(name) })
	}
	c.nodes.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { enqueue(obj.(*corev1.Node).Name) },
		OnUpdate: func(_, cur runtime.Object) { enqueue(cur.(*corev1.Node).Name) },
	})
}

// reconcileConditionTaints adds the NoSchedule taints the node's conditions call for and
// removes those they no longer do.
func (c *Controller) reconcileConditionTaints(name string) {
	obj, ok := c.nodes.Get("", name)
	if !ok {
		return
	}
	node := obj.(*corev1.Node)
	want := conditionTaintKeys(node)
	if sameConditionTaints(node, want) {
		return
	}
	var added, removed []string
	c.updateTaints(name, func(n *corev1.Node) {
		want := conditionTaintKeys(n)
		wanted := map[string]bool{}
		for _, k := range want {
			wanted[k] = true
		}
		var keep []corev1.Taint
		have := map[string]bool{}
		added, removed = nil, nil
		for _, t := range n.Spec.Taints {
			if isConditionTaint(t) && !wanted[t.Key] {
				removed = append(removed, t.Key)
				continue
			}
			if isConditionTaint(t) {
				have[t.Key] = true
			}
			keep = append(keep, t)
		}
		for _, k := range want {
			if !have[k] {
				keep = append(keep, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoSchedule})
				added = append(added, k)
			}
		}
		n.Spec.Taints = keep
	})
	for _, k := range added {
		c.log.Action(c.identity, "NodeTainted", "nodes", "", name, fmt.Sprintf("Added taint %s:NoSchedule to node %s", k, name))
	}
	for _, k := range removed {
		c.log.Action(c.identity, "NodeUntainted", "nodes", "", name, fmt.Sprintf("Removed taint %s:NoSchedule from node %s", k, name))
	}
}

func sameConditionTaints(n *corev1.Node, want []string) bool {
	var have []string
	for _, t := range n.Spec.Taints {
		if isConditionTaint(t) {
			have = append(have, t.Key)
		}
	}
	sort.Strings(have)
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if have[i] != want[i] {
			return false
		}
	}
	return true
}
