package scheduler_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/simtest"
)

func scheduledCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// TestUnschedulableThenNodeAdded: a pod that fits nowhere reports why, in upstream's
// words, and is scheduled when a node that fits joins.
func TestUnschedulableThenNodeAdded(t *testing.T) {
	c := simtest.New(t, simtest.Node("small-1", "1", "4Gi"), simtest.Node("small-2", "1", "4Gi"))
	c.Apply(simtest.Pod("big", "2", "1Gi"))
	c.RunFor(10 * time.Second)
	p := c.Pod("big")
	cond := scheduledCondition(p)
	want := "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling." // 2 CPUs exceed the nodes' whole allocatable: unresolvable
	if p.Spec.NodeName != "" || cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != "Unschedulable" || cond.Message != want {
		t.Fatalf("node %q condition %+v; want message %q", p.Spec.NodeName, cond, want)
	}
	// The same message as a Warning Event about the pod, counted once per attempt.
	evs := c.Events("FailedScheduling")
	if len(evs) != 1 || evs[0].Type != corev1.EventTypeWarning || evs[0].Message != want || evs[0].InvolvedObject.Name != "big" ||
		evs[0].Source.Component != "default-scheduler" || int(evs[0].Count) != c.CountActions("FailedScheduling") {
		t.Fatalf("FailedScheduling events %+v; want one Warning with count %d", evs, c.CountActions("FailedScheduling"))
	}
	attempts := c.CountActions("FailedScheduling")
	c.RunFor(time.Minute)
	if n := c.CountActions("FailedScheduling"); n != attempts {
		t.Errorf("%d more attempts without a cluster event; the pod should wait in unschedulableQ", n-attempts)
	}
	c.Apply(simtest.Node("big-1", "4", "8Gi"))
	c.RunFor(15 * time.Second) // at most the 10 s max backoff
	if p := c.Pod("big"); p.Spec.NodeName != "big-1" {
		t.Fatalf("after big-1 joined: node %q", p.Spec.NodeName)
	}
	if evs := c.Events("Scheduled"); len(evs) != 1 || evs[0].Type != corev1.EventTypeNormal || evs[0].Message != "Successfully assigned default/big to big-1" {
		t.Fatalf("Scheduled events %+v", evs)
	}
}

// TestSpreadsByLeastAllocated: equal pods go to the emptiest node first.
func TestSpreadsByLeastAllocated(t *testing.T) {
	c := simtest.New(t, simtest.Node("a", "4", "8Gi"), simtest.Node("b", "4", "8Gi"), simtest.Node("c", "4", "8Gi"))
	for _, n := range []string{"p1", "p2", "p3"} {
		c.Apply(simtest.Pod(n, "1", "1Gi"))
	}
	c.RunFor(5 * time.Second)
	used := map[string]int{}
	for _, p := range c.Pods() {
		used[p.Spec.NodeName]++
	}
	if used["a"] != 1 || used["b"] != 1 || used["c"] != 1 {
		t.Fatalf("placement %v, want one pod per node", used)
	}
}

// TestTaintedNodeAvoided: an untolerated NoSchedule taint keeps pods off a node.
func TestTaintedNodeAvoided(t *testing.T) {
	tainted := simtest.Node("tainted", "8", "16Gi")
	tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	c := simtest.New(t, tainted, simtest.Node("plain", "1", "2Gi"))
	c.Apply(simtest.Pod("p", "500m", "1Gi"), simtest.Pod("q", "800m", "1Gi"))
	c.RunFor(5 * time.Second)
	if p := c.Pod("p"); p.Spec.NodeName != "plain" {
		t.Fatalf("p on %q", p.Spec.NodeName)
	}
	want := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
	if cond := scheduledCondition(c.Pod("q")); cond == nil || cond.Message != want {
		t.Fatalf("q condition %+v, want %q", cond, want)
	}
}
