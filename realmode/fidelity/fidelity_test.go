package fidelity

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/eventlog"
)

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{
		"web-757f785558-xzzmd":  "web",
		"flaky-57mpp":           "flaky",
		"web-nginx":             "web-nginx",
		"node-2":                "node-2",
		"leaky-77649dff5-czj8j": "leaky",
		"bcdfg":                 "bcdfg",
	} {
		if got := Group(in); got != want {
			t.Errorf("Group(%q) = %q, want %q", in, got, want)
		}
	}
}

func action(at time.Duration, reason, name string) eventlog.Entry {
	return eventlog.Entry{At: at, Verb: "action", Reason: reason, Resource: "pods", Namespace: "default", Name: name}
}

func TestCompare(t *testing.T) {
	s := time.Second
	sim := []eventlog.Entry{
		action(1*s, "Started", "web-757f785558-xzzmd"),
		action(1*s, "Started", "web-757f785558-bbbbb"),
		action(10*s, "OOMKilled", "leaky-77649dff5-ccccc"),
		action(20*s, "OOMKilled", "leaky-77649dff5-ccccc"),
		{At: 2 * s, Verb: "create", Resource: "pods"},
	}
	real := []eventlog.Entry{
		action(1300*time.Millisecond, "Started", "web-6d8f9c7b5-ddddd"),
		action(3*s, "Started", "web-6d8f9c7b5-fffff"),
		action(11*s, "OOMKilled", "leaky-5c7d8b9f4-ggggg"),
	}
	rep := Compare(sim, real)
	if len(rep.Rows) != 2 || rep.Rows[0].Reason != "Started" || rep.Rows[1].Reason != "OOMKilled" {
		t.Fatalf("rows %+v, want Started then OOMKilled", rep.Rows)
	}
	st, oom := rep.Rows[0], rep.Rows[1]
	if st.Sim != 2 || st.Real != 2 || st.Matched != 2 || st.Agree != 1 || st.SimMean != s || st.RealMean != 2150*time.Millisecond || st.MaxAbsDiff != 2*s {
		t.Errorf("Started row %+v", st)
	}
	if oom.Sim != 2 || oom.Real != 1 || oom.Matched != 1 || oom.Agree != 1 || oom.Divergence() != 0.5 {
		t.Errorf("OOMKilled row %+v (divergence %v)", oom, oom.Divergence())
	}
	// 2 of the 4 occurrences (2 Started, 2 OOMKilled) agree.
	if rep.Agreement != 0.5 {
		t.Errorf("agreement %v, want 0.5", rep.Agreement)
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EVENT", "Started", "1/2", "115%", "Agreement: 50% of 4 events"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestRestartGapAndMetrics(t *testing.T) {
	s := time.Second
	log := []eventlog.Entry{
		action(1*s, "Started", "p"), action(2*s, "OOMKilled", "p"), action(2500*time.Millisecond, "Started", "p"),
		action(3*s, "OOMKilled", "p"), action(5*s, "Started", "p"), action(6*s, "OOMKilled", "p"), action(46*s, "Started", "p"),
	}
	if gap, n := RestartGap(log); n != 3 || gap != 2 {
		t.Fatalf("RestartGap = %v over %d, want the median 2 over 3", gap, n)
	}
	var buf bytes.Buffer
	if err := WriteMetrics(&buf, []Metric{{Name: "restart gap", Sim: 2, Real: 2.5, Seconds: true}, {Name: "OOM kills", Sim: 4, Real: 4}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"restart gap", "2.000s", "2.500s", "0.500s", "25%", "OOM kills"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("metrics table lacks %q:\n%s", want, buf.String())
		}
	}
}
