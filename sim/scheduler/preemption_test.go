package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/simtest"
)

func withPriority(p *corev1.Pod, class string) *corev1.Pod {
	p.Spec.PriorityClassName = class
	return p
}

func classes() (*schedulingv1.PriorityClass, *schedulingv1.PriorityClass) {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Value: 100},
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}
}

// TestPreemptionMinimalVictims: a high-priority pod needing 2 CPUs on a full cluster
// evicts the fewest low-priority pods on the best node and lands there.
func TestPreemptionMinimalVictims(t *testing.T) {
	low, high := classes()
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	c.Apply(low, high)
	// n1 and n2 each get two 2-CPU low pods (spread by LeastAllocated); the cluster is full.
	for _, n := range []string{"a", "b", "c", "d"} {
		c.Apply(withPriority(simtest.Pod(n, "2", "1Gi"), "low"))
	}
	c.RunFor(10 * time.Second)
	c.Apply(withPriority(simtest.Pod("vip", "2", "1Gi"), "high"))
	c.RunFor(time.Minute)
	vip := c.Pod("vip")
	if vip.Spec.NodeName == "" {
		t.Fatalf("vip not scheduled; conditions %+v", vip.Status.Conditions)
	}
	if vip.Status.NominatedNodeName != vip.Spec.NodeName {
		t.Errorf("vip nominated to %q but bound to %q", vip.Status.NominatedNodeName, vip.Spec.NodeName)
	}
	evicted := 0
	for _, n := range []string{"a", "b", "c", "d"} {
		if p := c.Pod(n); p == nil || p.DeletionTimestamp != nil {
			evicted++
		}
	}
	if evicted != 1 {
		t.Fatalf("%d victims, want exactly 1 (minimal set)", evicted)
	}
	if c.CountActions("Preempted") != 1 {
		t.Errorf("%d preemptions", c.CountActions("Preempted"))
	}
	evs := c.Events("Preempted")
	if len(evs) != 1 || evs[0].Message != fmt.Sprintf("Preempted by pod %s on node %s", vip.UID, vip.Spec.NodeName) {
		t.Errorf("Preempted events %+v", evs)
	}
}

// TestPreemptionRespectsPDBAndPriority: a node whose victim is protected by a PDB is
// avoided when another node has an unprotected one; equal or higher priority pods are
// never victims.
func TestPreemptionRespectsPDBAndPriority(t *testing.T) {
	low, high := classes()
	c := simtest.New(t, simtest.Node("n1", "2", "8Gi"), simtest.Node("n2", "2", "8Gi"), simtest.Node("n3", "2", "8Gi"))
	c.Apply(low, high)
	protected := withPriority(simtest.Pod("protected", "2", "1Gi"), "low")
	protected.Spec.NodeName = "n1"
	free := withPriority(simtest.Pod("free", "2", "1Gi"), "low")
	free.Spec.NodeName = "n2"
	peer := withPriority(simtest.Pod("peer", "2", "1Gi"), "high")
	peer.Spec.NodeName = "n3"
	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "protect"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "protected"}}}}
	c.Apply(protected, free, peer, pdb)
	c.RunFor(10 * time.Second)
	c.Apply(withPriority(simtest.Pod("vip", "2", "1Gi"), "high"))
	c.RunFor(time.Minute)
	if got := c.Pod("vip").Spec.NodeName; got != "n2" {
		t.Fatalf("vip on %q, want n2 (the only victim without a PDB and of lower priority)", got)
	}
	if p := c.Pod("protected"); p == nil || p.DeletionTimestamp != nil {
		t.Error("the PDB-protected pod was evicted")
	}
	if p := c.Pod("peer"); p == nil || p.DeletionTimestamp != nil {
		t.Error("a pod of equal priority was evicted")
	}
}

// TestPreemptionNotHelpful: when only an untolerated taint blocks the pod, preemption says
// it cannot help, in upstream's words.
func TestPreemptionNotHelpful(t *testing.T) {
	low, high := classes()
	n := simtest.Node("n1", "4", "8Gi")
	n.Spec.Taints = []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
	c := simtest.New(t, n)
	c.Apply(low, high, withPriority(simtest.Pod("vip", "1", "1Gi"), "high"))
	c.RunFor(10 * time.Second)
	want := "0/1 nodes are available: 1 node(s) had untolerated taint {k: v}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	if cond := scheduledCondition(c.Pod("vip")); cond == nil || cond.Message != want {
		t.Fatalf("condition %+v\nwant %q", cond, want)
	}
}

// TestPreemptionClearsLowerNominations: a pod nominated to a node by its own preemption
// loses the nomination when a higher-priority pod preempts on that node, as upstream's
// preemption clears lower-priority nominated pods.
func TestPreemptionClearsLowerNominations(t *testing.T) {
	low, high := classes()
	mid := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "mid"}, Value: 500}
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"))
	c.Apply(low, mid, high)
	grace := int64(30)
	for _, n := range []string{"a", "b"} {
		p := withPriority(simtest.Pod(n, "2", "1Gi"), "low")
		p.Spec.TerminationGracePeriodSeconds = &grace
		p.Annotations = map[string]string{"orrery.dev/usage": "sigterm: ignore"} // victims take the whole grace period
		c.Apply(p)
	}
	c.RunFor(10 * time.Second)
	c.Apply(withPriority(simtest.Pod("m", "2", "1Gi"), "mid"))
	c.RunFor(2 * time.Second)
	if got := c.Pod("m").Status.NominatedNodeName; got != "n1" {
		t.Fatalf("m nominated to %q, want n1 (it preempted a)", got)
	}
	c.Apply(withPriority(simtest.Pod("h", "2", "1Gi"), "high"))
	c.RunFor(time.Second)
	if got := c.Pod("h").Status.NominatedNodeName; got != "n1" {
		t.Fatalf("h nominated to %q, want n1", got)
	}
	if got := c.Pod("m").Status.NominatedNodeName; got != "" {
		t.Errorf("m still nominated to %q after a higher-priority pod preempted on n1", got)
	}
}
