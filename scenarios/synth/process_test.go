package synth

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestProcessFirstArrivals(t *testing.T) {
	tests := []struct {
		name string
		p    Process
		want []time.Duration
	}{
		{"Poisson 2/s", Poisson{Rate: 2}, []time.Duration{296565858, 330567587, 348816071, 1578983801, 2368598811}},
		// First sojourn on: 0.593 s; arrivals 10/s inside it, then off for 5 s on average.
		{"on/off", OnOff{OnRate: 10, MeanOn: time.Second, MeanOff: 5 * time.Second}, []time.Duration{6800346, 10450043, 256483589, 414406591, 505901606}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.p.Start(rand.New(rand.NewPCG(1, 2)))
			for i, w := range tt.want {
				if got := next(); got != w {
					t.Errorf("arrival %d at %v, want %v", i, got, w)
				}
			}
		})
	}
}

// TestProcessRates checks the long-run rate over 10,000 arrivals.
func TestProcessRates(t *testing.T) {
	tests := []struct {
		name string
		p    Process
		rate float64
		tol  float64
	}{
		// Poisson: the time of the 10,000th arrival has relative deviation 1%.
		{"Poisson", Poisson{Rate: 5}, 5, 0.04},
		// On/off: (20×2 + 1×8) / 10 = 4.8/s; the sojourns add variance (about 40 cycles
		// per 100 s, 10,000 arrivals span about 200 cycles), so allow 15%.
		{"on/off", OnOff{OnRate: 20, OffRate: 1, MeanOn: 2 * time.Second, MeanOff: 8 * time.Second}, 4.8, 0.15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.p.Start(rand.New(rand.NewPCG(11, 12)))
			var last, prev time.Duration
			for i := range 10000 {
				last = next()
				if last < prev {
					t.Fatalf("arrival %d at %v before the previous at %v", i, last, prev)
				}
				prev = last
			}
			rate := 10000 / last.Seconds()
			if math.Abs(rate-tt.rate) > tt.tol*tt.rate {
				t.Errorf("rate %.3f/s, want %.3f ± %.0f%%", rate, tt.rate, tt.tol*100)
			}
		})
	}
}

// TestOnOffIsBursty checks that on/off arrivals are more variable than Poisson at the
// same rate: the squared coefficient of variation of the gaps exceeds 1.
func TestOnOffIsBursty(t *testing.T) {
	cv2 := func(p Process) float64 {
		next := p.Start(rand.New(rand.NewPCG(3, 3)))
		var prev time.Duration
		var sum, sq float64
		const n = 10000
		for range n {
			at := next()
			g := (at - prev).Seconds()
			prev = at
			sum += g
			sq += g * g
		}
		m := sum / n
		return (sq/n - m*m) / (m * m)
	}
	if c := cv2(Poisson{Rate: 4.8}); math.Abs(c-1) > 0.1 {
		t.Errorf("Poisson gaps: squared CV %.2f, want about 1", c)
	}
	if c := cv2(OnOff{OnRate: 20, OffRate: 1, MeanOn: 2 * time.Second, MeanOff: 8 * time.Second}); c < 2 {
		t.Errorf("on/off gaps: squared CV %.2f, want well above 1", c)
	}
}

func TestProcessValidate(t *testing.T) {
	tests := []struct {
		p    Process
		want string
	}{
		{Poisson{}, "Poisson rate 0: want a positive finite number"},
		{OnOff{MeanOn: time.Second, MeanOff: time.Second}, "on/off process: both rates are 0, nothing would arrive"},
		{OnOff{OnRate: -1, MeanOn: time.Second, MeanOff: time.Second}, "on/off on rate -1: want a finite rate of 0 or more"},
		{OnOff{OnRate: 1}, "on/off process: mean on 0s and off 0s: want positive durations"},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("%#v: %v, want %s", tt.p, err, tt.want)
		}
	}
}
