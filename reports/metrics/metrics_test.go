package metrics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestFirstReason(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"0/3 nodes are available: 3 Insufficient cpu.", "Insufficient cpu"},
		{"0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod.", "Insufficient cpu"},
		{"0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 Insufficient memory.", "node(s) didn't match Pod's node affinity/selector"},
		{"0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.", "pod has unbound immediate PersistentVolumeClaims"},
		{"Binding rejected: node went away.", "Binding rejected: node went away"},
	} {
		if got := FirstReason(tc.msg); got != tc.want {
			t.Errorf("FirstReason(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestDistribution(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*100*time.Millisecond)
	}
	d := NewDistribution(ds)
	// Nearest rank: p50 of 10 values is the 5th, p90 the 9th, p99 the 10th.
	if d.Count != 10 || d.P50 != 0.5 || d.P90 != 0.9 || d.P99 != 1 || d.Max != 1 || d.Mean != 0.55 || d.Values[0] != 0.1 {
		t.Fatalf("%+v", d)
	}
	if e := NewDistribution(nil); e.Count != 0 || e.P99 != 0 || e.Values != nil {
		t.Fatalf("empty %+v", e)
	}
	if q := Quantile([]float64{1, 2, 3}, 0.5); q != 2 {
		t.Fatalf("median of 1,2,3 = %v", q)
	}
}

func TestMedian(t *testing.T) {
	var m median
	if _, ok := m.value(); ok {
		t.Fatal("empty median has a value")
	}
	for i, tc := range []struct{ add, want int64 }{{500, 500}, {100, 100}, {900, 500}, {200, 200}, {1000, 500}, {300, 300}} {
		m.add(tc.add)
		if v, _ := m.value(); v != tc.want {
			t.Fatalf("after %d values: lower median %d, want %d", i+1, v, tc.want)
		}
	}
}

func TestUnion(t *testing.T) {
	t0 := time.Unix(0, 0)
	s := func(d int) time.Time { return t0.Add(time.Duration(d) * time.Second) }
	var zero time.Time
	for _, tc := range []struct {
		a1, b1, a2, b2 time.Time
		want           time.Duration
	}{
		{zero, zero, zero, zero, 0},
		{s(1), s(3), zero, zero, 2 * time.Second},
		{zero, zero, s(2), s(7), 5 * time.Second},
		{s(1), s(3), s(5), s(6), 3 * time.Second},
		{s(1), s(5), s(3), s(8), 7 * time.Second},
		{s(2), s(4), s(1), s(9), 8 * time.Second},
	} {
		if got := union(tc.a1, tc.b1, tc.a2, tc.b2); got != tc.want {
			t.Errorf("union(%v..%v, %v..%v) = %v, want %v", tc.a1, tc.b1, tc.a2, tc.b2, got, tc.want)
		}
	}
}

// TestFitShapes: only shapes no smaller one dominates are kept; fragmentation counts a
// node when none fits.
func TestFitShapes(t *testing.T) {
	col := &Collector{queued: map[shape]int{{1000, 4 << 30}: 2, {2000, 1 << 30}: 1, {2000, 8 << 30}: 1, {500, 6 << 30}: 1, {3000, 1 << 30}: 1}}
	got := col.fitShapes()
	want := []shape{{500, 6 << 30}, {1000, 4 << 30}, {2000, 1 << 30}}
	if len(got) != len(want) {
		t.Fatalf("shapes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("shapes %v, want %v", got, want)
		}
	}
	for _, tc := range []struct {
		cpu, mem, pods int64
		fits           bool
	}{{600, 6 << 30, 1, true}, {1500, 3 << 30, 1, false}, {2000, 1 << 30, 1, true}, {4000, 8 << 30, 0, false}} {
		if fitsAny(got, tc.cpu, tc.mem, tc.pods) != tc.fits {
			t.Errorf("fitsAny(%d, %d, %d) != %v", tc.cpu, tc.mem, tc.pods, tc.fits)
		}
	}
}

func TestPointJSON(t *testing.T) {
	s := Series{Name: "pods.pending", Unit: "pods", Points: []Point{{0, 1}, {5, 2.5}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"name":"pods.pending","unit":"pods","points":[[0,1],[5,2.5]]}` {
		t.Fatalf("JSON %s", b)
	}
	var back Series
	if err := json.Unmarshal(b, &back); err != nil || len(back.Points) != 2 || back.Points[1] != (Point{5, 2.5}) {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`[1,2,3]`), &back.Points[0]); err == nil {
		t.Fatal("a point of three numbers was accepted")
	}
	if s.Mean() != 1.75 || s.Max() != 2.5 {
		t.Fatalf("mean %v max %v", s.Mean(), s.Max())
	}
}

func TestExtended(t *testing.T) {
	for name, want := range map[string]bool{"nvidia.com/gpu": true, "cpu": false, "hugepages-2Mi": false, "kubernetes.io/foo": false, "example.kubernetes.io/x": false} {
		if extended(corev1.ResourceName(name)) != want {
			t.Errorf("extended(%s) != %v", name, want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	var b strings.Builder
	err := WriteCSV(&b, []Series{
		{Name: "pods.pending", Unit: "pods", Points: []Point{{0, 1}, {5, 2}, {10, 0}}},
		{Name: "pods.unschedulable[Insufficient cpu, really]", Unit: "pods", Points: []Point{{5, 1}, {10, 0.5}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "t,pods.pending,\"pods.unschedulable[Insufficient cpu, really]\"\n0,1,\n5,2,1\n10,0,0.5\n"
	if b.String() != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", b.String(), want)
	}
}
