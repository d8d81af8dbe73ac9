package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/orrery-sim/orrery/scenarios"
)

// TestTrafficTable: a run with spec.traffic prints one row per stream (requests, failed,
// availability, latency, failures by cause, when they happened) and its JSON carries the
// availability time series; a run without traffic has neither.
func TestTrafficTable(t *testing.T) {
	s, err := scenarios.LoadBuiltin("rolling-update-traffic")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(scenarios.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Summarize(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Traffic) != 2 {
		t.Fatalf("%d traffic rows, want 2", len(res.Traffic))
	}
	naive := res.Traffic[0]
	if naive.Service != "default/naive" || naive.Via != "ClusterIP" || naive.Requests != 30000 || naive.Failed != 619 ||
		naive.Failures["refused"] != 136 || naive.Failures["not-ready"] != 483 || naive.FirstFailure != "1m2.545s" || naive.LastFailure != "1m6.57s" {
		t.Errorf("naive row %+v", naive)
	}
	// 10 s samples from 0 s to 3 m; the rollout's failures all fall in [1m0s, 1m10s).
	if len(naive.Samples) != 18 || naive.Samples[6].At != "1m0s" || naive.Samples[6].Requests != 2000 || naive.Samples[6].Failed != 619 || naive.Samples[2].Requests != 0 {
		t.Errorf("naive samples %+v", naive.Samples)
	}
	if safe := res.Traffic[1]; safe.Service != "default/safe" || safe.Failed != 0 || safe.Availability != 1 || len(safe.Failures) != 0 {
		t.Errorf("safe row %+v", safe)
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Traffic\n", "│ default/naive │ 30000    │ 619    │ 97.937%", "refused 136, not-ready 483 │ 1m2.545s – 1m6.57s", "│ default/safe  │ 30000    │ 0      │ 100.000%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Traffic) != 2 || back.Traffic[0].P99 == "" {
		t.Errorf("JSON traffic %+v (%v)", back.Traffic, err)
	}

	plain, err := scenarios.LoadBuiltin(scenarios.Default)
	if err != nil {
		t.Fatal(err)
	}
	run, err = plain.Run(scenarios.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err = Summarize(run)
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if res.Traffic != nil || strings.Contains(text.String(), "Traffic") {
		t.Errorf("a run without spec.traffic reports traffic")
	}
}
