package nodelifecycle_test

import (
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
// 10 s (--node-eviction-rate 0.1), while their NoSchedule taints come at once.
func TestEvictionRateLimit(t *testing.T) {
	var nodes []*corev1.Node
	for _, n := range []string{"a", "b", "c", "d"} {
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
