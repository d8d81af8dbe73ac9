package scenarios

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// TestMixedWorkload runs the mixed-workload scenario end to end and checks each scheduling
// rule it exercises, and that preemption made room for the critical tier with the fewest
// batch victims.
func TestMixedWorkload(t *testing.T) {
	s, err := LoadBuiltin("mixed-workload")
	if err != nil {
		t.Fatal(err)
	}
	var events bytes.Buffer
	run, err := s.Run(RunOptions{Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.Cluster.Admin.List("pods", "default", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	zoneOf := map[string]string{}
	for _, n := range s.Nodes() {
		zoneOf[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	webPerZone := map[string]int{}
	cacheNodes := map[string]bool{}
	running := map[string]int{}
	for _, o := range res.Items {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" {
			continue
		}
		app := p.Labels["app"]
		running[app]++
		switch app {
		case "web":
			webPerZone[zoneOf[p.Spec.NodeName]]++
		case "cache":
			if cacheNodes[p.Spec.NodeName] {
				t.Errorf("two cache pods on %s despite required anti-affinity", p.Spec.NodeName)
			}
			cacheNodes[p.Spec.NodeName] = true
		case "train":
			if !strings.HasPrefix(p.Spec.NodeName, "gpu-") {
				t.Errorf("train pod on %s, want a GPU node", p.Spec.NodeName)
			}
		case "critical":
			if p.Status.NominatedNodeName != "" && p.Status.NominatedNodeName != p.Spec.NodeName {
				t.Errorf("critical pod %s nominated to %s but bound to %s", p.Name, p.Status.NominatedNodeName, p.Spec.NodeName)
			}
		default:
			if strings.HasPrefix(p.Spec.NodeName, "gpu-") {
				t.Errorf("%s pod %s on a GPU node without tolerating its taint", app, p.Name)
			}
		}
	}
	for app, want := range map[string]int{"web": 6, "cache": 3, "api": 4, "train": 2, "critical": 3} {
		if running[app] != want {
			t.Errorf("%d %s pods placed, want %d", running[app], app, want)
		}
	}
	min, max := 99, 0
	for _, z := range []string{"zone-a", "zone-b", "zone-c"} {
		n := webPerZone[z]
		if n < min {
			min = n
		}
		if n > max {
			max = n
		}
	}
	if max-min > 1 {
		t.Errorf("web spread over zones %v: skew %d > maxSkew 1", webPerZone, max-min)
	}
	// Preemption: one per critical pod, only batch victims, and on each node no more victims
	// than the 2 CPUs needed can justify (batch pods are 1 CPU each, so at most 2).
	victims := map[string]int{}
	preemptions := 0
	for _, e := range run.Actions {
		if e.Reason == "Preempted" {
			preemptions++
		}
	}
	for _, o := range res.Items {
		p := o.(*corev1.Pod)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Reason == "PreemptionByScheduler" {
				victims[p.Labels["app"]]++
			}
		}
	}
	if preemptions != 3 {
		t.Errorf("%d preemptions, want 3 (one per critical pod)", preemptions)
	}
	// The scheduler's deletes are the victims. Before 2m every general node had less than
	// 1 CPU free, so each 2-CPU critical pod needs exactly two 1-CPU batch victims.
	deletes := strings.Count(events.String(), `"actor":"system:kube-scheduler","verb":"delete"`)
	if deletes != 2*preemptions {
		t.Errorf("%d victims for %d preemptions, want 2 each (the minimal set)", deletes, preemptions)
	}
	for app := range victims {
		if app != "batch" {
			t.Errorf("a %s pod was a preemption victim; only batch is of lower priority", app)
		}
	}
}
