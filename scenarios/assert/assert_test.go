package assert

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Query
		op      Op
		value   float64
		wantErr string
	}{
		{in: "deployment default/web available >= 6", want: Query{"deployment", "default", "web", "available"}, op: ">=", value: 6},
		{in: "pods  pending == 0", want: Query{Kind: "pods", Metric: "pending"}, op: "==", value: 0},
		{in: "service default/web failed-requests-ratio < 0.01", want: Query{"service", "default", "web", "failed-requests-ratio"}, op: "<", value: 0.01},
		{in: "node-utilisation cpu > 0.7", want: Query{Kind: "node-utilisation", Metric: "cpu"}, op: ">", value: 0.7},
		{in: "", wantErr: "empty expression"},
		{in: "deploymnet default/web available >= 6", wantErr: `unknown subject "deploymnet"`},
		{in: "deployment web available >= 6", wantErr: "must be named as NAMESPACE/NAME"},
		{in: "deployment default/web available >= 6 x", wantErr: "expected 5 words"},
		{in: "deployment default/web availble >= 6", wantErr: `unknown metric "availble" of deployment: expected one of available, ready`},
		{in: "pods pending => 0", wantErr: `unknown comparison "=>"`},
		{in: "pods pending == none", wantErr: `"none" is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ...%s...", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Query != tc.want || e.Op != tc.op || e.Value != tc.value {
				t.Errorf("got %+v %s %v", e.Query, e.Op, e.Value)
			}
		})
	}
}

// series is a State whose value changes at given times.
type series struct {
	now    *time.Duration
	points []point
}

type point struct {
	from time.Duration
	v    float64
}

func (s series) Value(Query) (float64, error) {
	v := 0.0
	for _, p := range s.points {
		if *s.now >= p.from {
			v = p.v
		}
	}
	return v, nil
}

// TestChecker: each window against a value that is 6 until 10m, drops to 2, and is back to
// 6 from 12m30s, sampled every 30 s over a 20m run.
func TestChecker(t *testing.T) {
	expr := func(s string) Expr {
		e, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ge6 := expr("deployment default/web available >= 6")
	tests := []struct {
		a      Assertion
		passed bool
		at     time.Duration
		detail string
	}{
		{Assertion{Name: "end", Expr: ge6}, true, 20 * time.Minute, ""},
		{Assertion{Name: "always", Expr: ge6, Always: true}, false, 10 * time.Minute, "was 2 at 10m0s"},
		{Assertion{Name: "always after", Expr: ge6, After: 13 * time.Minute}, true, 20 * time.Minute, ""},
		{Assertion{Name: "recovers within 3m", Expr: ge6, After: 10 * time.Minute, Within: 3 * time.Minute}, true, 12*time.Minute + 30*time.Second, ""},
		{Assertion{Name: "recovers within 2m", Expr: ge6, After: 10 * time.Minute, Within: 2 * time.Minute}, false, 12 * time.Minute, "was still 2 at 12m0s"},
		{Assertion{Name: "window past the end", Expr: ge6, After: 30 * time.Minute, Within: time.Minute}, false, 20 * time.Minute, "not checked: the run ended at 20m0s, before the window opened at 30m0s"},
		{Assertion{Name: "always after the end", Expr: ge6, After: 25 * time.Minute}, false, 20 * time.Minute, "not checked"},
		{Assertion{Name: "down", Expr: expr("deployment default/web available < 3"), After: 10 * time.Minute, Within: 10 * time.Second}, true, 10 * time.Minute, ""},
	}
	for _, tc := range tests {
		t.Run(tc.a.Name, func(t *testing.T) {
			var now time.Duration
			st := series{now: &now, points: []point{{0, 6}, {10 * time.Minute, 2}, {12*time.Minute + 30*time.Second, 6}}}
			c := NewChecker([]Assertion{tc.a})
			extra := c.Times()
			for now = 0; now < 20*time.Minute; now += 30 * time.Second {
				for len(extra) > 0 && extra[0] < now {
					saved := now
					now = extra[0]
					c.Sample(now, st)
					now, extra = saved, extra[1:]
				}
				c.Sample(now, st)
			}
			now = 20 * time.Minute
			r := c.Finish(now, st)[0]
			if r.Passed != tc.passed || r.At != tc.at || !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("got passed=%v at %v (%q), want passed=%v at %v (...%s...)", r.Passed, r.At, r.Detail, tc.passed, tc.at, tc.detail)
			}
			if skipped := strings.HasPrefix(r.Detail, "not checked"); r.Skipped != skipped || c.Failed() != (!tc.passed && !skipped) {
				t.Errorf("Skipped = %v, Failed() = %v", r.Skipped, c.Failed())
			}
		})
	}
}
