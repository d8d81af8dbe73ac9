package scenarios

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestDrainScenario: the drain under a PodDisruptionBudget of minAvailable 3 (of 4) evicts
// node-1's two pods one at a time — the second only once the first one's replacement is
// ready — retrying the refused eviction every 5 s, and ends with 4 available replicas.
func TestDrainScenario(t *testing.T) {
	s, err := LoadBuiltin("drain")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var evicted, retries []time.Duration
	drained := time.Duration(-1)
	for _, e := range run.Actions {
		switch e.Reason {
		case "PodEvicted":
			evicted = append(evicted, e.At)
		case "EvictionRetry":
			retries = append(retries, e.At)
		case "NodeDrained":
			drained = e.At
		}
	}
	// Eviction 1 at 2m (pod gone 2m0.1s, seen by the 1 s poll); its replacement starts at
	// 2m0.515s and is ready at the first readiness probe past readyAfter 5s; the retry at
	// 2m10s (every 5 s from 2m) is the first the budget allows.
	want := []time.Duration{2*time.Minute + time.Second, 2*time.Minute + 11*time.Second}
	if len(evicted) != 2 || evicted[0] != want[0] || evicted[1] != want[1] {
		t.Errorf("evictions confirmed at %v, want %v", evicted, want)
	}
	if len(retries) != 2 || retries[0] != 2*time.Minute || retries[1] != 2*time.Minute+5*time.Second {
		t.Errorf("refused evictions at %v, want 2m0s and 2m5s", retries)
	}
	if drained != 2*time.Minute+11*time.Second {
		t.Errorf("drained at %v, want 2m11s", drained)
	}
	obj, err := run.Cluster.Admin.Get("deployments", "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if d := obj.(*appsv1.Deployment); d.Status.AvailableReplicas != 4 {
		t.Errorf("%d available at the end, want 4", d.Status.AvailableReplicas)
	}
	node, err := run.Cluster.Admin.Get("nodes", "", "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if node.(*corev1.Node).Spec.Unschedulable {
		t.Error("node-1 still cordoned after the 6m uncordon")
	}
}
