package scenarios

import (
	"testing"
	"time"
)

// TestAutoscalingScenario: the load step at 2m (150% of request per pod) scales the
// Deployment 2 → 6 at the HPA's first sync that sees it; the drop at 8m scales it back to 2
// only once the last recommendation of 6 (the sync at 7m45s) is 300 s old.
func TestAutoscalingScenario(t *testing.T) {
	s, err := LoadBuiltin("autoscaling")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type rescale struct {
		at  time.Duration
		msg string
	}
	var got []rescale
	for _, e := range run.Actions {
		if e.Reason == "SuccessfulRescale" {
			got = append(got, rescale{e.At, e.Message})
		}
	}
	want := []rescale{
		{2*time.Minute + 5*time.Millisecond, "New size: 6; reason: cpu resource utilization (percentage of request) above target"},
		{12*time.Minute + 45*time.Second + 5*time.Millisecond, "New size: 2; reason: All metrics below target"},
	}
	if len(got) != len(want) {
		t.Fatalf("rescales %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rescale %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
