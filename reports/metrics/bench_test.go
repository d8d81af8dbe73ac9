package metrics_test

import (
	"testing"
	"time"

	"github.com/orrery-sim/orrery/scenarios"
)

// BenchmarkRandomFailuresHour runs the first hour of the 500-node random-failures day with
// and without the collector, for its overhead:
//
//	go test ./reports/metrics -run '^$' -bench RandomFailuresHour -benchtime 1x -count 3
func BenchmarkRandomFailuresHour(b *testing.B) {
	for _, bc := range []struct {
		name string
		off  bool
	}{{"metrics", false}, {"none", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				s, err := scenarios.LoadBuiltin("random-failures")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Run(scenarios.RunOptions{Until: time.Hour, NoMetrics: bc.off}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
