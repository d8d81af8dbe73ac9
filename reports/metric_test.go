package reports

import "testing"

func TestMetrics(t *testing.T) {
	res := &Result{NodesInUse: 4, Traffic: []TrafficRow{{Service: "default/web", Requests: 100, Failed: 3, Availability: 0.97}},
		Assertions: []AssertionRow{{}}}
	got := map[string]Metric{}
	var names []string
	for _, m := range Metrics(res) {
		got[m.Name] = m
		names = append(names, m.Name)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not sorted: %v", names)
		}
	}
	if m := got["nodes.in-use"]; m.Value != 4 || m.Better != Lower {
		t.Errorf("nodes.in-use %+v", m)
	}
	if m := got["traffic.default/web.failed"]; m.Value != 3 || m.Better != Lower {
		t.Errorf("failed %+v", m)
	}
	if m := got["assertions.failed"]; m.Value != 1 {
		t.Errorf("assertions.failed %+v (one assertion, neither passed nor skipped)", m)
	}
}
