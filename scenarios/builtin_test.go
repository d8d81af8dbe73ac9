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
