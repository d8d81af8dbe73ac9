package metrics_test

import (
	"testing"
	"time"

	"github.com/orrery-sim/orrery/scenarios"
)

// BenchmarkRandomFailuresHour runs the first hour of the 500-node random-failures day
// with the collector (sampling every minute, the scenario's interval, and every 5 s) and
// without it, for its overhead:
//
//	go test ./reports/metrics -run '^$' -bench RandomFailuresHour -benchtime 1x -count 3
func BenchmarkRandomFailuresHour(b *testing.B) {
	for _, bc := range []struct {
		name     string
		off      bool
		interval time.Duration
	}{{"metrics", false, 0}, {"metrics-5s", false, 5 * time.Second}, {"none", true, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				s, err := scenarios.LoadBuiltin("random-failures")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Run(scenarios.RunOptions{Until: time.Hour, NoMetrics: bc.off, SampleInterval: bc.interval}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
