package scenarios

import (
	"testing"
	"time"
)

// TestRandomFailuresScenario runs the whole day on 500 nodes (about 3.5 minutes of wall
// time on one core; skipped with -short): seed 1 draws one zone outage (zone-b, 100 nodes,
// at 2m47.534s for an hour) and 17 node crashes, all but the last recovered by the end of
// the day, and every assertion holds.
func TestRandomFailuresScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("a day on 500 nodes")
	}
	s, err := LoadBuiltin("random-failures")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var zones, crashes, recoveries int
	for _, e := range run.Actions {
		if e.Actor != "orrery" {
			continue
		}
		switch e.Reason {
		case "ZoneOutage":
			zones++
			if e.Name != "zone-b" || e.At != 2*time.Minute+47534*time.Millisecond {
				t.Errorf("zone outage of %s at %v, want zone-b at 2m47.534s", e.Name, e.At)
			}
		case "NodeCrash":
			crashes++
		case "NodeRecover":
			recoveries++
		}
	}
	if zones != 1 || crashes != 117 || recoveries != 116 {
		t.Errorf("%d zone outages, %d node crashes, %d recoveries; want 1, 117 (100 in the zone) and 116", zones, crashes, recoveries)
	}
	if len(run.Assertions) != 4 {
		t.Errorf("%d assertions, want 4", len(run.Assertions))
	}
	for _, a := range run.Failed() {
		t.Errorf("assertion %s (%s) failed at %v: %s", a.Name, a.Expect, a.At, a.Detail)
	}
}
