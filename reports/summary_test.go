package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/scenarios"
)

func TestSummaryAndText(t *testing.T) {
	s, err := scenarios.LoadBuiltin(scenarios.Default)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(scenarios.RunOptions{Until: 3 * time.Minute}) // crashed, not yet evicted
	if err != nil {
		t.Fatal(err)
	}
	res, err := Summarize(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes) != 3 || res.Nodes[1].Name != "node-2" || res.Nodes[1].Ready != "Unknown" || res.Nodes[1].Pods != 1 {
		t.Fatalf("nodes %+v", res.Nodes)
	}
	if got := strings.Join(res.Nodes[1].Taints, ","); got != "node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute" {
		t.Fatalf("node-2 taints %s", got)
	}
	if d := res.Deployments[0]; d.Name != "default/web" || d.Desired != 3 || d.UpToDate != 3 || d.Ready != 2 || d.Available != 2 {
		// Nothing is evicted yet, but the node lifecycle controller has marked the pod on
		// the dead node not ready: the Deployment has 3 pods, 2 available.
		t.Fatalf("deployment %+v", d)
	}
	if len(res.EventLog.SHA256) != 64 || res.EventLog.Entries == 0 {
		t.Fatalf("event log %+v", res.EventLog)
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Scenario node-failure, seed 1, 3m0s", "NodeCrash", "NodeNotReady", "│ node-2 │ Unknown", "│ default/web │ 2/3", "Event log: " + fmt.Sprint(res.EventLog.Entries) + " entries, sha256 " + res.EventLog.SHA256} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.EventLog.SHA256 != res.EventLog.SHA256 || len(back.Timeline) != len(res.Timeline) {
		t.Fatalf("JSON round trip: %v", err)
	}
}

// TestLongTimelineIsCut: the text output shows the first and last timeline entries of a
// long run and says how many it left out.
func TestLongTimelineIsCut(t *testing.T) {
	res := &Result{Scenario: "x"}
	for i := 0; i < 500; i++ {
		res.Timeline = append(res.Timeline, TimelineEntry{At: fmt.Sprintf("%ds", i), Reason: "Scheduled", Object: fmt.Sprintf("pod/p-%03d", i)})
	}
	var out bytes.Buffer
	if err := WriteText(&out, res); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"pod/p-000", "pod/p-079", "… 380 more entries", "pod/p-460", "pod/p-499"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, absent := range []string{"pod/p-080", "pod/p-459"} {
		if strings.Contains(text, absent) {
			t.Errorf("output shows %q, which should be cut", absent)
		}
	}
}
