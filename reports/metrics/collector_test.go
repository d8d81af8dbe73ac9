package metrics

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func collect(t *testing.T, c *simtest.Cluster) *Collector {
	t.Helper()
	col, err := New(c.Cluster, Options{Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return col
}

func profiled(name, cpu, profile string) *corev1.Pod {
	p := simtest.Pod(name, cpu, "64Mi")
	p.Annotations = map[string]string{model.UsageAnnotation: profile}
	return p
}

func last(t *testing.T, r *Results, name string) float64 {
	t.Helper()
	s := Find(r.Series, name)
	if s == nil {
		t.Fatalf("no series %s", name)
	}
	return s.Points[len(s.Points)-1].V
}

// TestPodStartup: both pods are created at 0, bound 5 ms later (scheduling latency) and
// seen by the kubelet 5 ms after that. app's image pull takes 2 s, its init container
// runs 5 s and its main container (same image) starts at once; its Running status is
// observed 5 ms after it is written: 7.015 s end to end, of which the SLI leaves out the
// pull and the init container (10 ms to 7.01 s). plain's pull waits for app's (image
// pulls are serial on a node) and ends at 4.01 s: 4.015 s end to end, less the pull
// counted from its request, 10 ms to 4.01 s, as the kubelet's tracker does. Both SLIs are
// 15 ms.
func TestPodStartup(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	col := collect(t, c)
	p := profiled("app", "100m", "startup: 0s\ncontainers: {setup: {runFor: 5s}}")
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox:1.36"}}
	plain := profiled("plain", "100m", "startup: 0s")
	plain.Spec.Containers[0].Image = "nginx:1.27"
	c.Apply(p, plain)
	c.RunFor(time.Minute)
	d := col.Finish().Details
	if d.SchedulingLatency.Count != 2 || d.SchedulingLatency.Max != 0.005 || d.SchedulingLatency.P50 != 0.005 {
		t.Errorf("scheduling latency %+v, want 2 pods at 5 ms", d.SchedulingLatency)
	}
	if got := d.PodStartupE2E.Values; len(got) != 2 || !near(got[0], 4.015) || !near(got[1], 7.015) {
		t.Errorf("end-to-end startup %v, want [4.015 7.015]", got)
	}
	if got := d.PodStartup.Values; len(got) != 2 || !near(got[0], 0.015) || !near(got[1], 0.015) {
		t.Errorf("startup SLI %v, want 15 ms each", got)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestOOMAndRestart: memory ramps to the 200Mi limit half-way through 200 s: one OOM kill
// and one restart.
func TestOOMAndRestart(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	col := collect(t, c)
	p := profiled("hog", "100m", "startup: 0s\nmemory: {ramp: {from: 100Mi, to: 300Mi, over: 200s}}")
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("200Mi")}
	c.Apply(p)
	c.RunFor(150 * time.Second)
	d := col.Finish().Details
	if d.Counts.OOMKills != 1 || d.Counts.Restarts != 1 {
		t.Fatalf("counts %+v, want 1 OOM kill and 1 restart", d.Counts)
	}
	if d.PodStartupE2E.Count != 1 {
		t.Fatalf("startup counted %d times; a restart is not a new startup", d.PodStartupE2E.Count)
	}
}

// TestSampledPacking: two 2-CPU nodes take one 1500m pod each; the third fits nowhere.
// Requests are 3 of 4 CPUs, both nodes are in use, one pod is pending as "Insufficient
// cpu", and the 500m left on each node is stranded: 1 core of fragmentation. Once the
// third pod is gone, the median shape (1500m) strands the same core.
func TestSampledPacking(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"), simtest.Node("n2", "2", "4Gi"))
	col := collect(t, c)
	c.Apply(simtest.Pod("a", "1500m", "1Gi"), simtest.Pod("b", "1500m", "1Gi"), simtest.Pod("c", "1500m", "1Gi"))
	c.RunFor(30 * time.Second)
	if _, err := c.Admin.Delete("pods", "default", "c", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(10 * time.Second)
	r := col.Finish()
	at30 := func(name string) float64 {
		s := Find(r.Series, name)
		if s == nil {
			t.Fatalf("no series %s", name)
		}
		for _, p := range s.Points {
			if p.T == 30 {
				return p.V
			}
		}
		t.Fatalf("%s has no sample at 30 s: %v", name, s.Points)
		return 0
	}
	for name, want := range map[string]float64{
		"allocation.cpu": 0.75, "allocation.memory": 0.25, "allocation.pods": 2.0 / 220,
		"nodes.in-use": 2, "nodes.ready": 2, "pods.pending": 1, "pods.unschedulable": 1,
		"pods.unschedulable[Insufficient cpu]": 1, "fragmentation.cpu": 1,
	} {
		if got := at30(name); !near(got, want) {
			t.Errorf("%s at 30 s = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{"pods.pending": 0, "pods.unschedulable[Insufficient cpu]": 0, "fragmentation.cpu": 1} {
		if got := last(t, r, name); got != want {
			t.Errorf("%s at the end = %v, want %v", name, got, want)
		}
	}
	if s := Find(r.Series, "pods.pending"); len(s.Points) != 9 || s.Points[8].T != 40 {
		t.Errorf("pending sampled at %v, want every 5 s from 0 to 40 s", s.Points)
	}
	if d := r.Details.SchedulingLatency; d.Count != 2 {
		t.Errorf("scheduling latency of %d pods, want 2 (c was never bound)", d.Count)
	}
}

// TestUsage: usage is what the metrics server last scraped (every 15 s from the start),
// as kubectl top shows it: nothing at 10 s, then the pod's usage as of 15 s until the
// scrape at 30 s. The container starts at 2.01 s (after its image pull) and peaks at 1000m
// and 2Gi in the last 10 s of every 20 s, else 200m and 1Gi: at 15 s it peaks, at 25 s it
// no longer does but the scrape of 15 s still shows the peak, at 30 s it is at its base
// (of 2 CPUs, 4Gi).
func TestUsage(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	col := collect(t, c)
	c.Apply(profiled("busy", "100m", "startup: 0s\ncpu: {spikes: {base: 200m, peak: 1000m, every: 20s, for: 10s}}\nmemory: {spikes: {base: 1Gi, peak: 2Gi, every: 20s, for: 10s}}"))
	c.RunFor(35 * time.Second)
	r := col.Finish()
	cpu, mem := Find(r.Series, "usage.cpu").Points, Find(r.Series, "usage.memory").Points
	want := []struct{ t, cpu, mem float64 }{{10, 0, 0}, {15, 0.5, 0.5}, {20, 0.5, 0.5}, {25, 0.5, 0.5}, {30, 0.1, 0.25}, {35, 0.1, 0.25}}
	for i, w := range want {
		if p, q := cpu[i+2], mem[i+2]; p.T != w.t || !near(p.V, w.cpu) || !near(q.V, w.mem) {
			t.Errorf("at %v s: usage cpu %v memory %v, want %v and %v", p.T, p.V, q.V, w.cpu, w.mem)
		}
	}
}
