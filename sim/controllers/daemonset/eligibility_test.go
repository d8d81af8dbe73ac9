package daemonset_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/controllers/daemonset"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func TestNodeShouldRunDaemonPod(t *testing.T) {
	node := func(edit func(*corev1.Node)) *corev1.Node {
		n := withLabels(simtest.Node("n1", "4", "8Gi"), "zone", "a")
		if edit != nil {
			edit(n)
		}
		return n
	}
	tainted := func(key string, effect corev1.TaintEffect) *corev1.Node {
		return node(func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: key, Effect: effect}} })
	}
	for _, tt := range []struct {
		name             string
		node             *corev1.Node
		edit             func(*appsv1.DaemonSet)
		run, keepRunning bool
	}{
		{name: "plain node", node: node(nil), run: true, keepRunning: true},
		{name: "template names another node", node: node(nil), edit: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "n2" }},
		{name: "template names this node", node: node(nil), edit: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "n1" }, run: true, keepRunning: true},
		{name: "nodeSelector mismatch", node: node(nil), edit: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "b"} }},
		{name: "nodeSelector match", node: node(nil), edit: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} }, run: true, keepRunning: true},
		{name: "matchFields on another node", node: node(nil), edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{"n2"}}}}},
			}}}
		}},
		{name: "untolerated NoSchedule", node: tainted("dedicated", corev1.TaintEffectNoSchedule), keepRunning: true},
		{name: "untolerated NoExecute", node: tainted("dedicated", corev1.TaintEffectNoExecute)},
		{name: "PreferNoSchedule", node: tainted("dedicated", corev1.TaintEffectPreferNoSchedule), run: true, keepRunning: true},
		{name: "tolerated NoExecute", node: tainted("dedicated", corev1.TaintEffectNoExecute), edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
		}, run: true, keepRunning: true},
		{name: "not-ready NoExecute (default toleration)", node: tainted(daemonset.TaintNodeNotReady, corev1.TaintEffectNoExecute), run: true, keepRunning: true},
		{name: "unreachable NoExecute (default toleration)", node: tainted(daemonset.TaintNodeUnreachable, corev1.TaintEffectNoExecute), run: true, keepRunning: true},
		{name: "not-ready NoSchedule (not tolerated)", node: tainted(daemonset.TaintNodeNotReady, corev1.TaintEffectNoSchedule), keepRunning: true},
		{name: "disk-pressure", node: tainted(daemonset.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule), run: true, keepRunning: true},
		{name: "pid-pressure", node: tainted(daemonset.TaintNodePIDPressure, corev1.TaintEffectNoSchedule), run: true, keepRunning: true},
		{name: "unschedulable", node: tainted(daemonset.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule), run: true, keepRunning: true},
		{name: "network-unavailable", node: tainted(daemonset.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule), keepRunning: true},
		{name: "network-unavailable, host network", node: tainted(daemonset.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule), edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.HostNetwork = true
		}, run: true, keepRunning: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds := daemonSet("nginx:1.26")
			if tt.edit != nil {
				tt.edit(ds)
			}
			run, keep := daemonset.NodeShouldRunDaemonPod(tt.node, ds)
			if run != tt.run || keep != tt.keepRunning {
				t.Errorf("shouldRun %v, shouldContinueRunning %v; want %v, %v", run, keep, tt.run, tt.keepRunning)
			}
		})
	}
}
