package daemonset_test

import (
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// cluster starts a full test cluster with the DaemonSet controller running beside the
// other controllers, as the controller manager would run it.
func cluster(t *testing.T, nodes ...*corev1.Node) *simtest.Cluster {
	t.Helper()
	return clusterWith(t, sim.Config{Seed: 1, Nodes: nodes})
}

// clusterWith is cluster built from cfg: the controller manager's own DaemonSet
// controller is the one under test.
func clusterWith(t *testing.T, cfg sim.Config) *simtest.Cluster {
	t.Helper()
	return simtest.NewWithConfig(t, cfg)
}

// daemonSet returns a DaemonSet "agent" in namespace default, with the API server's
// defaults (RollingUpdate, maxUnavailable 1, maxSurge 0).
func daemonSet(image string) *appsv1.DaemonSet {
	p := simtest.Pod("", "100m", "64Mi")
	p.Spec.Containers[0].Image = image
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}}, Spec: p.Spec},
		},
	}
}

func getDS(c *simtest.Cluster) *appsv1.DaemonSet {
	c.T.Helper()
	obj, err := c.Admin.Get("daemonsets", "default", "agent")
	if err != nil {
		c.T.Fatal(err)
	}
	return obj.(*appsv1.DaemonSet)
}

// live returns the pods not being deleted.
func live(c *simtest.Cluster) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range c.Pods() {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// liveNodes returns the sorted nodes the live pods run on (bound ones only).
func liveNodes(c *simtest.Cluster) []string {
	var out []string
	for _, p := range live(c) {
		out = append(out, p.Spec.NodeName)
	}
	sort.Strings(out)
	return out
}

func taint(key string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Value: "x", Effect: effect}
}

func withLabels(n *corev1.Node, kv ...string) *corev1.Node {
	for i := 0; i+1 < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	return n
}

func withTaints(n *corev1.Node, ts ...corev1.Taint) *corev1.Node {
	n.Spec.Taints = append(n.Spec.Taints, ts...)
	return n
}
