package nodelifecycle_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/nodelifecycle"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func TestSilentNodeGoesUnknownAndIsTainted(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"), simtest.Node("n2", "2", "4Gi"))
	c.RunFor(time.Minute + 3*time.Second) // the crash falls between two lease renewals
	if err := c.CrashNode("n2"); err != nil {
		t.Fatal(err)
	}
	crash := c.Loop.Elapsed()
	c.RunFor(2 * time.Minute)
	notReady := c.FirstAction("NodeNotReady", "n2")
	// Last renewal at 1m0s. As upstream, the controller stamps a renewal when a 5 s pass
	// observes it, and marks the node at the first pass past that stamp + 50 s grace.
	if notReady <= 110*time.Second || notReady > 120*time.Second {
		t.Fatalf("NotReady at %v (crash at %v), want in (1m50s, 2m0s]", notReady, crash)
	}
	n2 := c.Node("n2")
	if simtest.Ready(n2) != corev1.ConditionUnknown {
		t.Fatalf("n2 Ready = %s", simtest.Ready(n2))
	}
	for _, cond := range n2.Status.Conditions {
		if cond.Status != corev1.ConditionUnknown || cond.Reason != "NodeStatusUnknown" || cond.Message != "Kubelet stopped posting node status." {
			t.Errorf("condition %s: %s %s %q", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	for _, eff := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
		if !simtest.HasTaint(n2, apiserver.TaintNodeUnreachable, eff) {
			t.Errorf("n2 lacks the unreachable:%s taint: %v", eff, n2.Spec.Taints)
		}
	}
	if n1 := c.Node("n1"); simtest.Ready(n1) != corev1.ConditionTrue || len(n1.Spec.Taints) != 0 {
		t.Errorf("n1 was touched: %s %v", simtest.Ready(n1), n1.Spec.Taints)
	}

	// Recovery: the kubelet posts Ready and the taints go.
	if err := c.RecoverNode("n2"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(10 * time.Second)
	if n2 := c.Node("n2"); simtest.Ready(n2) != corev1.ConditionTrue || len(n2.Spec.Taints) != 0 {
		t.Fatalf("after recovery: Ready %s, taints %v", simtest.Ready(n2), n2.Spec.Taints)
	}
}

func TestGracePeriodOverride(t *testing.T) {
	c := simtest.NewWithConfig(t, sim.Config{Seed: 1, Nodes: []*corev1.Node{simtest.Node("n1", "2", "4Gi")},
		NodeLifecycle: nodelifecycle.Options{GracePeriod: 20 * time.Second}})
	c.RunFor(30 * time.Second)
	if err := c.CrashNode("n1"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if at := c.FirstAction("NodeNotReady", "n1"); at <= 50*time.Second || at > 60*time.Second {
		t.Fatalf("NotReady at %v, want in (50s, 60s]: 20 s grace after the 30 s renewal", at)
	}
}

// TestEvictionRateLimit: nodes of one zone failing together are tainted NoExecute one per
// 10 s (--node-eviction-rate 0.1), while their NoSchedule taints come at once. Three of
// eight is under the unhealthy-zone threshold (55%), so the zone stays Normal.
func TestEvictionRateLimit(t *testing.T) {
	var nodes []*corev1.Node
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		nodes = append(nodes, simtest.Node(n, "2", "4Gi"))
	}
	c := simtest.New(t, nodes...)
	c.RunFor(5 * time.Second)
	for _, n := range []string{"a", "b", "c"} {
		if err := c.CrashNode(n); err != nil {
			t.Fatal(err)
		}
	}
	c.RunFor(3 * time.Minute)
	var times []time.Duration
	for _, e := range c.Actions {
		if e.Reason == "NodeTainted" {
			times = append(times, e.At)
		}
	}
	if len(times) != 3 {
		t.Fatalf("%d NoExecute taints, want 3", len(times))
	}
	for i := 1; i < len(times); i++ {
		if d := times[i] - times[i-1]; d != 10*time.Second {
			t.Errorf("taint %d came %v after the previous, want 10s", i, d)
		}
	}
}

// zoned returns n nodes named <zone>-<i> in zone.
func zoned(zone string, n int) []*corev1.Node {
	var out []*corev1.Node
	for i := 1; i <= n; i++ {
		node := simtest.Node(fmt.Sprintf("%s-%d", zone, i), "2", "4Gi")
		node.Labels[corev1.LabelTopologyZone] = zone
		out = append(out, node)
	}
	return out
}

// TestZoneDisruption: upstream's zone states decide the NoExecute tainting rate. A fully
// down zone is tainted at the normal rate while another zone is healthy; a partially
// disrupted small zone (3 of 4 down, at most 50 nodes) is not tainted at all; and when every
// zone is down the controller blames itself, removes the NoExecute taints and stops.
func TestZoneDisruption(t *testing.T) {
	tests := []struct {
		name      string
		nodes     []*corev1.Node
		crash     []string
		wantTaint int // NoExecute taints on the crashed nodes at the end
		wantNoSch int // NoSchedule taints on them
		wantLog   string
	}{
		{"full zone with a healthy zone", append(zoned("za", 2), zoned("zb", 2)...), []string{"za-1", "za-2"}, 2, 2, "Controller detected that zone za is now in state FullDisruption."},
		{"partial disruption of a small zone", zoned("za", 4), []string{"za-1", "za-2", "za-3"}, 0, 3, "Controller detected that zone za is now in state PartialDisruption."},
		{"every zone down", append(zoned("za", 2), zoned("zb", 1)...), []string{"za-1", "za-2", "zb-1"}, 0, 3, "Controller detected that all Nodes are not-Ready. Entering master disruption mode."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := simtest.New(t, tt.nodes...)
			c.RunFor(5 * time.Second)
			for _, n := range tt.crash {
				if err := c.CrashNode(n); err != nil {
					t.Fatal(err)
				}
			}
			c.RunFor(3 * time.Minute)
			noExec, noSched := 0, 0
			for _, n := range tt.crash {
				node := c.Node(n)
				if simtest.HasTaint(node, apiserver.TaintNodeUnreachable, corev1.TaintEffectNoExecute) {
					noExec++
				}
				if simtest.HasTaint(node, apiserver.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) {
					noSched++
				}
			}
			if noExec != tt.wantTaint || noSched != tt.wantNoSch {
				t.Errorf("NoExecute on %d, NoSchedule on %d crashed nodes; want %d and %d", noExec, noSched, tt.wantTaint, tt.wantNoSch)
			}
			found := false
			for _, e := range c.Actions {
				found = found || e.Message == tt.wantLog
			}
			if !found {
				t.Errorf("no action %q", tt.wantLog)
			}
		})
	}
}

// TestConditionTaints: a pressure condition the kubelet reports, and a cordon, get their
// NoSchedule taints on the next node update, and lose them when they clear, as upstream's
// taint-by-condition pass does.
func TestConditionTaints(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	c.RunFor(time.Second)
	setCondition := func(status corev1.ConditionStatus) {
		t.Helper()
		n := c.Node("n1").DeepCopy()
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeDiskPressure {
				n.Status.Conditions[i].Status = status
			}
		}
		if _, err := c.Admin.UpdateStatus(n); err != nil {
			t.Fatal(err)
		}
	}
	setCondition(corev1.ConditionTrue)
	c.RunFor(100 * time.Millisecond)
	if !simtest.HasTaint(c.Node("n1"), corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule) {
		t.Fatalf("no disk-pressure taint: %v", c.Node("n1").Spec.Taints)
	}
	if at := c.FirstAction("NodeTainted", "n1"); at != time.Second+5*time.Millisecond {
		t.Errorf("tainted at %v, want one watch latency after the condition (1.005s)", at)
	}
	cordon := c.Node("n1").DeepCopy()
	cordon.Spec.Unschedulable = true
	if _, err := c.Admin.Update(cordon); err != nil {
		t.Fatal(err)
	}
	c.RunFor(100 * time.Millisecond)
	n := c.Node("n1")
	if !simtest.HasTaint(n, corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule) || !simtest.HasTaint(n, corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule) {
		t.Fatalf("taints after cordon: %v", n.Spec.Taints)
	}
	setCondition(corev1.ConditionFalse)
	c.RunFor(100 * time.Millisecond)
	n = c.Node("n1")
	if simtest.HasTaint(n, corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule) || !simtest.HasTaint(n, corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule) {
		t.Fatalf("taints after the pressure cleared: %v", n.Spec.Taints)
	}
}

// TestSilentNodePodsMarkedNotReady: when the controller finds a ready node's kubelet
// silent, it marks the node's pods not ready (upstream's MarkPodsNotReady) at the same
// pass, with a NodeNotReady event, so that endpoints drop them long before eviction.
func TestSilentNodePodsMarkedNotReady(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := simtest.Pod("web", "100m", "64Mi")
	c.Apply(p)
	c.RunFor(time.Minute)
	if podReady(c.Pod("web")) != corev1.ConditionTrue {
		t.Fatalf("web not ready before the crash: %v", c.Pod("web").Status.Conditions)
	}
	if err := c.CrashNode("n1"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(2 * time.Minute)
	notReady := c.FirstAction("NodeNotReady", "n1")
	if at := c.FirstAction("MarkedPodNotReady", "web"); at != notReady {
		t.Errorf("pod marked not ready at %v, want with the node at %v", at, notReady)
	}
	if got := podReady(c.Pod("web")); got != corev1.ConditionFalse {
		t.Errorf("pod Ready = %s after the node went silent", got)
	}
	if evs := c.Events("NodeNotReady"); len(evs) != 1 || evs[0].Message != "Node is not ready" || evs[0].InvolvedObject.Name != "web" || evs[0].Source.Component != nodelifecycle.EventSource {
		t.Errorf("events %v", evs)
	}
}

func podReady(p *corev1.Pod) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}
