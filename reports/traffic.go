package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/proxy"
)

// TrafficRow is one request stream's outcome.
type TrafficRow struct {
	// Service is namespace/name, with :port when the stream named one.
	Service string `json:"service"`
	Via     string `json:"via"`
	// Rate is the stream's requests per second.
	Rate     float64 `json:"rate"`
	Requests uint64  `json:"requests"`
	Failed   uint64  `json:"failed"`
	// Availability is the share of requests served.
	Availability float64 `json:"availability"`
	// Failures counts failed requests by cause (see package proxy).
	Failures map[string]uint64 `json:"failures,omitempty"`
	// FirstFailure and LastFailure are the arrival times of the first and last failed
	// requests, from the start.
	FirstFailure string `json:"firstFailure,omitempty"`
	LastFailure  string `json:"lastFailure,omitempty"`
	// P50, P90 and P99 are latency percentiles of the served requests.
	P50 string `json:"p50"`
	P90 string `json:"p90"`
	P99 string `json:"p99"`
	// Samples is availability over time: requests and failures per interval.
	Samples []TrafficSample `json:"samples,omitempty"`
}

// TrafficSample is one interval of a stream's availability time series.
type TrafficSample struct {
	At       string  `json:"at"`
	Requests uint64  `json:"requests"`
	Failed   uint64  `json:"failed"`
	Avail    float64 `json:"availability"`
}

// trafficRows reads the run's request streams (none without traffic).
func trafficRows(c *sim.Cluster) []TrafficRow {
	t := c.Traffic()
	if t == nil {
		return nil
	}
	var rows []TrafficRow
	for _, s := range t.Stats() {
		row := TrafficRow{
			Service: s.Stream.Name(), Via: string(s.Stream.Via), Rate: s.Stream.Rate,
			Requests: s.Requests, Failed: s.Failed, Availability: s.Availability(),
			P50: fmtLatency(s.Latency(0.5)), P90: fmtLatency(s.Latency(0.9)), P99: fmtLatency(s.Latency(0.99)),
		}
		for _, cause := range proxy.Causes {
			if n := s.FailedBy(cause); n > 0 {
				if row.Failures == nil {
					row.Failures = map[string]uint64{}
				}
				row.Failures[string(cause)] = n
			}
		}
		if s.Failed > 0 {
			row.FirstFailure, row.LastFailure = fmtAt(s.FirstFailure), fmtAt(s.LastFailure)
		}
		for _, smp := range s.Samples {
			row.Samples = append(row.Samples, TrafficSample{At: fmtAt(smp.At), Requests: smp.Requests, Failed: smp.Failed, Avail: smp.Availability()})
		}
		rows = append(rows, row)
	}
	return rows
}

// writeTraffic prints the traffic table: one row per request stream.
func writeTraffic(w io.Writer, rows []TrafficRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "Traffic")
	// Headers as the other tables print them, without splitting "P99" into "P 99".
	tt := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	tt.Header("SERVICE", "REQUESTS", "FAILED", "AVAILABILITY", "P50", "P99", "FAILURES", "FAILING")
	for _, r := range rows {
		var causes []string
		for _, c := range proxy.Causes {
			if n := r.Failures[string(c)]; n > 0 {
				causes = append(causes, fmt.Sprintf("%s %d", c, n))
			}
		}
		failing := ""
		if r.Failed > 0 {
			failing = r.FirstFailure + " – " + r.LastFailure
		}
		if err := tt.Append(r.Service, fmt.Sprint(r.Requests), fmt.Sprint(r.Failed), fmt.Sprintf("%.3f%%", 100*r.Availability),
			r.P50, r.P99, strings.Join(causes, ", "), failing); err != nil {
			return err
		}
	}
	return tt.Render()
}

// fmtLatency prints a latency to 10 µs.
func fmtLatency(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
