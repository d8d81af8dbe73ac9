package scenarios

import (
	"testing"
)

// TestBuiltinAssertionsPass runs every built-in scenario for its whole duration (the day
// of random failures has its own test) and requires that it has assertions and that they
// all pass, as `orrery run NAME` does.
func TestBuiltinAssertionsPass(t *testing.T) {
	for _, name := range Builtin() {
		if name == "random-failures" {
			continue
		}
		if name == "openb-fgd" && testing.Short() {
			continue // a minute: 1,213 GPU nodes, 10,000 pods
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := LoadBuiltin(name)
			if err != nil {
				t.Fatal(err)
			}
			run, err := s.Run(RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Assertions) < 2 {
				t.Errorf("%d assertions, want at least 2", len(run.Assertions))
			}
			for _, a := range run.Failed() {
				t.Errorf("assertion %s (%s, %s) failed at %v: %s", a.Name, a.Expect, a.Window, a.At, a.Detail)
			}
			for _, err := range run.FaultErrors {
				t.Errorf("fault not applied: %v", err)
			}
		})
	}
}

// TestProgressChangesNothing: a run told to report progress runs in 100 steps of virtual
// time with the same event log as a run in one go, and reports every step.
func TestProgressChangesNothing(t *testing.T) {
	s, err := LoadBuiltin("node-failure")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	stepped, err := s.Run(RunOptions{Progress: func(done, total int) {
		if total != 100 {
			t.Fatalf("total %d", total)
		}
		steps = append(steps, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := plain.Cluster.Log.Hash(), stepped.Cluster.Log.Hash(); a != b {
		t.Errorf("event logs differ: %s and %s", a, b)
	}
	if len(steps) != 100 || steps[0] != 1 || steps[99] != 100 {
		t.Errorf("progress steps %v", steps)
	}
}
