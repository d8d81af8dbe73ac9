package tainteviction_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func seconds(n int64) *int64 { return &n }

func TestEvictionHonoursTolerationSeconds(t *testing.T) {
	// n2 stays healthy: were every node down, the node lifecycle controller would blame
	// itself and taint nothing (master disruption mode).
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	short := simtest.Pod("short", "100m", "64Mi")
	short.Spec.Tolerations = []corev1.Toleration{{Key: apiserver.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds(60)}}
	forever := simtest.Pod("forever", "100m", "64Mi")
	forever.Spec.Tolerations = []corev1.Toleration{{Key: apiserver.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
	def := simtest.Pod("default", "100m", "64Mi") // admission adds 300 s
	for _, p := range []*corev1.Pod{short, forever, def} {
		p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n1"}
	}
	c.Apply(short, forever, def)
	c.RunFor(10 * time.Second)
	if err := c.CrashNode("n1"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(8 * time.Minute)
	taint := c.FirstAction("NodeTainted", "n1")
	if taint < 0 {
		t.Fatal("the node was never tainted")
	}
	for _, tt := range []struct {
		name string
		want time.Duration // after the taint; -1 never
	}{{"short", 60 * time.Second}, {"default", 300 * time.Second}, {"forever", -1}} {
		at := c.FirstAction("TaintManagerEviction", tt.name)
		if tt.want < 0 {
			if at >= 0 {
				t.Errorf("%s was evicted at %v; it tolerates the taint for ever", tt.name, at)
			}
			continue
		}
		// The clock starts when the controller sees the taint: one watch latency later.
		if d := at - taint; d < tt.want || d > tt.want+apiserver.DefaultWatchLatency {
			t.Errorf("%s evicted %v after the taint, want %v (+ watch latency)", tt.name, d, tt.want)
		}
		p := c.Pod(tt.name)
		if p == nil || p.DeletionTimestamp == nil {
			t.Fatalf("%s should be Terminating on the dead node", tt.name)
		}
		found := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget && cond.Reason == "DeletionByTaintManager" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s lacks the DisruptionTarget condition: %v", tt.name, p.Status.Conditions)
		}
	}
}

func TestUntoleratedTaintEvictsAtOnceAndRemovalCancels(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"))
	tolerant := simtest.Pod("tolerant", "100m", "64Mi")
	tolerant.Spec.Tolerations = []corev1.Toleration{{Key: "maintenance", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds(120)}}
	c.Apply(simtest.Pod("plain", "100m", "64Mi"), tolerant)
	c.RunFor(10 * time.Second)
	n := c.Node("n1")
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute})
	if _, err := c.Admin.Update(n); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if at := c.FirstAction("TaintManagerEviction", "plain"); at < 10*time.Second || at > 10*time.Second+100*time.Millisecond {
		t.Errorf("plain evicted at %v, want at once (10s)", at)
	}
	// Removing the taint before 120 s cancels the tolerant pod's eviction.
	n = c.Node("n1")
	n.Spec.Taints = nil
	if _, err := c.Admin.Update(n); err != nil {
		t.Fatal(err)
	}
	c.RunFor(5 * time.Minute)
	if at := c.FirstAction("TaintManagerEviction", "tolerant"); at >= 0 {
		t.Errorf("tolerant evicted at %v although the taint was removed", at)
	}
}
