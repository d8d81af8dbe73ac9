package metricsserver_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/metricsserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestScrapeAndLoad: samples are the kubelets' usage plus an even share of the load among
// ready pods, capped at the CPU limit, refreshed every 15 s; a crashed node's pods drop out.
func TestScrapeAndLoad(t *testing.T) {
	load := metricsserver.Load{Namespace: "default", Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		CPU: &model.Curve{Kind: model.CurveSteps, Steps: []model.CurvePoint{{At: 0, Value: 300}, {At: time.Minute, Value: 900}}}}
	c := simtest.NewWithConfig(t, sim.Config{Seed: 1, Loads: []metricsserver.Load{load},
		Nodes: []*corev1.Node{simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi")}})
	for _, name := range []string{"a", "b"} {
		p := simtest.Pod(name, "100m", "64Mi")
		p.Labels["app"] = "web"
		p.Annotations = map[string]string{model.UsageAnnotation: "cpu: 50m\nmemory: 32Mi"}
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("400m")}
		c.Apply(p)
	}
	other := simtest.Pod("other", "100m", "64Mi")
	other.Annotations = map[string]string{model.UsageAnnotation: "cpu: 70m"}
	c.Apply(other)
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})

	if ms, _ := c.Metrics.PodMetrics("default", sel); len(ms) != 0 {
		t.Fatalf("samples before the first scrape: %+v", ms)
	}
	c.RunFor(20 * time.Second) // scrape at 15 s: pods started at 2.5 s
	ms, err := c.Metrics.PodMetrics("default", sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "a" || ms[1].Name != "b" {
		t.Fatalf("samples %+v, want a and b", ms)
	}
	for _, m := range ms {
		if m.Containers[0].CPUMilli != 50+150 || m.Containers[0].MemoryBytes != 32<<20 || m.Window != 15*time.Second || !m.Timestamp.Equal(simtestEpoch(15*time.Second)) {
			t.Errorf("%s: %+v, want 200m (50m own + half of 300m) at 15s", m.Name, m)
		}
	}
	all, _ := c.Metrics.PodMetrics("default", labels.Everything())
	if len(all) != 3 || all[2].Containers[0].CPUMilli != 70 {
		t.Errorf("all pods %+v, want other at its own 70m", all)
	}
	c.RunFor(time.Minute) // the load is 900m from 1m: 450m each, capped at the 400m limit
	ms, _ = c.Metrics.PodMetrics("default", sel)
	for _, m := range ms {
		if m.Containers[0].CPUMilli != 400 {
			t.Errorf("%s at %v: %dm, want the 400m limit", m.Name, m.Timestamp, m.Containers[0].CPUMilli)
		}
	}
	node := c.Pod("a").Spec.NodeName
	if err := c.CrashNode(node); err != nil {
		t.Fatal(err)
	}
	c.RunFor(15 * time.Second)
	ms, _ = c.Metrics.PodMetrics("default", sel)
	for _, m := range ms {
		if m.Name == "a" {
			t.Errorf("pod a on crashed %s still has a sample: %+v", node, m)
		}
	}
}

func simtestEpoch(d time.Duration) time.Time { return loopEpoch.Add(d) }

var loopEpoch = loop.Epoch
