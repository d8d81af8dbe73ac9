package proxy

import (
	"testing"
	"time"
)

// TestHistogram: exact below 1024 µs, within 0.2% above, and quantiles by rank.
func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * 100 * time.Microsecond) // 0.1 ms … 10 ms
	}
	tests := []struct {
		q    float64
		want time.Duration
		tol  time.Duration
	}{
		{0.01, 100 * time.Microsecond, 0},
		{0.05, 500 * time.Microsecond, 0},
		{0.5, 5 * time.Millisecond, 10 * time.Microsecond},
		{0.99, 9900 * time.Microsecond, 20 * time.Microsecond},
		{1, 10 * time.Millisecond, 20 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		if d := got - tt.want; d < -tt.tol || d > tt.tol {
			t.Errorf("q%v = %v, want %v ± %v", tt.q, got, tt.want, tt.tol)
		}
	}
	for _, us := range []uint64{1023, 1024, 1025, 4095, 1 << 20, 3_600_000_000} {
		mid := bucketValue(bucketOf(us))
		if diff := float64(mid) - float64(us); diff < -0.002*float64(us) || diff > 0.002*float64(us) {
			t.Errorf("%d µs lands in a bucket around %d µs", us, mid)
		}
	}
}

// TestStatsSamples: requests and failures per interval, by arrival time.
func TestStatsSamples(t *testing.T) {
	s := &Stats{SampleInterval: 10 * time.Second}
	s.record(5*time.Second, "", time.Millisecond)
	s.record(25*time.Second, CauseRefused, 0)
	s.record(29*time.Second, "", time.Millisecond)
	if len(s.Samples) != 3 || s.Samples[2].At != 20*time.Second || s.Samples[2].Requests != 2 || s.Samples[2].Failed != 1 || s.Samples[1].Requests != 0 {
		t.Fatalf("samples %+v", s.Samples)
	}
	if s.Samples[2].Availability() != 0.5 || s.Samples[1].Availability() != 1 {
		t.Fatalf("availability %v %v", s.Samples[2].Availability(), s.Samples[1].Availability())
	}
	if s.FirstFailure != 25*time.Second || s.LastFailure != 25*time.Second || s.FailedBy(CauseRefused) != 1 || s.Availability() != 2.0/3 {
		t.Fatalf("stats %+v", s)
	}
}
