package scenarios

import (
	"testing"
	"time"
)

// TestZoneOutageScenario: zone a (node-1, node-4) goes down at 2m under 100 requests per
// second. Requests routed to its two pods fail until its nodes are marked NotReady and
// their pods not ready (50 s grace, at the 5 s monitor pass of 2m50s) and each proxy has
// dropped them; the pods are evicted 300 s after the NoExecute taints (rate-limited 10 s
// apart in the zone) and replaced elsewhere.
func TestZoneOutageScenario(t *testing.T) {
	s, err := LoadBuiltin("zone-outage")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Cluster.Traffic().Stats()[0]
	if st.Requests != 117000 || st.Failed != 1640 || st.FirstFailure != 2*time.Minute+90*time.Millisecond || st.LastFailure != 2*time.Minute+50*time.Second {
		t.Errorf("%d requests, %d failed from %v to %v; want 117000, 1640 from 2m0.09s to 2m50s", st.Requests, st.Failed, st.FirstFailure, st.LastFailure)
	}
	var crashes, evictions int
	for _, e := range run.Actions {
		switch e.Reason {
		case "NodeCrash":
			crashes++
			if e.At != 2*time.Minute {
				t.Errorf("%s crashed at %v", e.Name, e.At)
			}
		case "TaintManagerEviction":
			evictions++
		}
	}
	if crashes != 2 || evictions != 2 {
		t.Errorf("%d crashes and %d evictions, want 2 and 2", crashes, evictions)
	}
	for _, a := range run.Failed() {
		t.Errorf("assertion %s failed: %s", a.Name, a.Detail)
	}
}

// TestPreemptionStormScenario: each of the 8 critical pods preempts exactly one batch pod
// (the minimal set), lands on its nominated node, and the 8 batch replacements stay
// Pending.
func TestPreemptionStormScenario(t *testing.T) {
	s, err := LoadBuiltin("preemption-storm")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	preempted := map[string]bool{}
	for _, e := range run.Actions {
		if e.Reason == "Preempted" {
			preempted[e.Name] = true
		}
	}
	if len(preempted) != 8 {
		t.Errorf("%d pods preempted, want 8 (one per critical pod)", len(preempted))
	}
	for _, a := range run.Failed() {
		t.Errorf("assertion %s failed: %s", a.Name, a.Detail)
	}
}
