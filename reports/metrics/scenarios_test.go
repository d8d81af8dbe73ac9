package metrics_test

import (
	"math"
	"testing"

	"github.com/orrery-sim/orrery/reports/metrics"
	"github.com/orrery-sim/orrery/scenarios"
)

func run(t *testing.T, name string, opts scenarios.RunOptions) *scenarios.Run {
	t.Helper()
	s, err := scenarios.LoadBuiltin(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestCollectorChangesNothing: a run with the collector has the same event log as one
// without; the collector only reads.
func TestCollectorChangesNothing(t *testing.T) {
	for _, name := range []string{"node-failure", "zone-outage", "preemption-storm", "job-retries"} {
		with := run(t, name, scenarios.RunOptions{})
		without := run(t, name, scenarios.RunOptions{NoMetrics: true})
		if with.Metrics == nil || without.Metrics != nil {
			t.Fatalf("%s: metrics %v / %v", name, with.Metrics != nil, without.Metrics != nil)
		}
		if a, b := with.Cluster.Log.Hash(), without.Cluster.Log.Hash(); a != b {
			t.Errorf("%s: event log %s with the collector, %s without", name, a, b)
		}
	}
}

// TestNodeFailureRecovery: node-2 crashes at 2m; its pod is marked not ready when the node
// goes NotReady (50 s later), so the Deployment is degraded; the pod is evicted 300 s
// after the NoExecute taint (7m50.005s), its replacement is bound 10 ms later and started
// 0.5 s after that (the image is on node-1 already), and the Deployment's status showing 3
// available reaches the collector at 7m50.535s: recovery 350.535 s. Every pod was bound 5
// ms after its creation; the SLI startup is 0.515 s (5 ms to the kubelet, 0.5 s to start,
// 5 ms to be observed, the 2 s pull left out).
func TestNodeFailureRecovery(t *testing.T) {
	d := run(t, "node-failure", scenarios.RunOptions{}).Metrics.Details
	if len(d.Faults) != 1 {
		t.Fatalf("faults %+v", d.Faults)
	}
	if f := d.Faults[0]; f.Kind != "NodeCrash" || f.Object != "node/node-2" || f.At != 120 || !f.Degraded || !f.Recovered || !near(f.Recovery, 350.535) {
		t.Errorf("fault %+v, want NodeCrash of node/node-2 at 120 s recovered in 350.535 s", f)
	}
	if s := d.SchedulingLatency; s.Count != 4 || s.P50 != 0.005 || s.P99 != 0.005 {
		t.Errorf("scheduling latency %+v, want 4 pods at 5 ms", s)
	}
	if s := d.PodStartup; s.Count != 4 || !near(s.P50, 0.515) || !near(s.Max, 0.515) {
		t.Errorf("pod startup %+v, want 4 pods at 0.515 s", s)
	}
	if s := d.PodStartupE2E; s.Count != 4 || !near(s.Values[0], 0.515) || !near(s.Values[3], 2.515) {
		t.Errorf("end-to-end startup %v, want the replacement at 0.515 s and the first three at 2.515 s", s.Values)
	}
	if d.Counts.EvictionsTaint != 1 || d.Counts.EvictionsAPI != 0 || d.Counts.EvictionsKubelet != 0 {
		t.Errorf("counts %+v, want one taint eviction", d.Counts)
	}
}

// TestZoneOutageRecoveryAndTraffic: the zone's two nodes crash at 2m as one fault; the
// second node is tainted 10 s after the first (the eviction rate limit, 0.1 node/s), so
// the workloads are whole again 15 s later than after one node's crash: 365.535 s. The
// per-interval traffic series add up to the stream's totals.
func TestZoneOutageRecoveryAndTraffic(t *testing.T) {
	r := run(t, "zone-outage", scenarios.RunOptions{})
	d := r.Metrics.Details
	if len(d.Faults) != 1 || d.Faults[0].Kind != "ZoneOutage" || d.Faults[0].Object != "zone/zone-a" || !near(d.Faults[0].Recovery, 365.535) {
		t.Fatalf("faults %+v, want the zone outage recovered in 365.535 s", d.Faults)
	}
	if d.Counts.EvictionsTaint != 2 {
		t.Errorf("taint evictions %d, want 2", d.Counts.EvictionsTaint)
	}
	st := r.Cluster.Traffic().Stats()[0]
	sum := func(name string) (total float64) {
		s := metrics.Find(r.Metrics.Series, name)
		if s == nil {
			t.Fatalf("no series %s", name)
		}
		for _, p := range s.Points {
			total += p.V
		}
		return total
	}
	if req, failed := sum("traffic.default/web.requests"), sum("traffic.default/web.failed"); req != float64(st.Requests) || failed != float64(st.Failed) || failed == 0 {
		t.Errorf("series sum to %v requests, %v failed; the stream counted %d and %d", req, failed, st.Requests, st.Failed)
	}
}

// TestRolloutsAndJobs pins rollout durations (the template applied at 1m and the rollback
// at 4m, each observed 5 ms later) and Job outcomes.
func TestRolloutsAndJobs(t *testing.T) {
	ro := run(t, "rolling-update", scenarios.RunOptions{}).Metrics.Details.Rollouts
	want := []metrics.Rollout{
		{Deployment: "default/web", At: 60.005, Outcome: metrics.RolloutComplete, Duration: 28.135},
		{Deployment: "default/web", At: 240.005, Outcome: metrics.RolloutComplete, Duration: 26.135},
	}
	if len(ro) != len(want) {
		t.Fatalf("rollouts %+v", ro)
	}
	for i := range want {
		if ro[i].Deployment != want[i].Deployment || !near(ro[i].At, want[i].At) || ro[i].Outcome != want[i].Outcome || !near(ro[i].Duration, want[i].Duration) {
			t.Errorf("rollout %d: %+v, want %+v", i, ro[i], want[i])
		}
	}
	d := run(t, "job-retries", scenarios.RunOptions{}).Metrics.Details
	if len(d.Jobs) != 2 {
		t.Fatalf("jobs %+v", d.Jobs)
	}
	if j := d.Jobs[0]; j.Name != "default/report" || j.Outcome != metrics.JobComplete || !near(j.Started, 0.005) || !near(j.Finished, 65.035) || !near(j.Duration, 65.03) {
		t.Errorf("report %+v", j)
	}
	if j := d.Jobs[1]; j.Name != "default/migrate" || j.Outcome != metrics.JobFailed || !near(j.Finished, 94.54) {
		t.Errorf("migrate %+v", j)
	}
	if !near(d.Makespan, 94.54) {
		t.Errorf("makespan %v, want 94.54", d.Makespan)
	}
}

// TestPreemptionAndDrainCounts pins the counted events of two built-ins.
func TestPreemptionAndDrainCounts(t *testing.T) {
	r := run(t, "preemption-storm", scenarios.RunOptions{})
	if c := r.Metrics.Details.Counts; c.PreemptionAttempts != 8 || c.PreemptionVictims != 12 {
		t.Errorf("preemption-storm counts %+v, want 8 preemptions of 12 victims", c)
	}
	s := metrics.Find(r.Metrics.Series, "pods.unschedulable[Insufficient cpu]")
	if s == nil || s.Points[len(s.Points)-1].V != 8 {
		t.Errorf("unschedulable for cpu at the end: %+v, want 8", s)
	}
	if c := run(t, "drain", scenarios.RunOptions{}).Metrics.Details.Counts; c.EvictionsAPI != 2 {
		t.Errorf("drain counts %+v, want 2 API evictions", c)
	}
}
