package stats

import (
	"errors"
	"math"
	"testing"
)

const tol = 5e-6

func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

// TestTQuantile pins the 0.975 quantiles of Student's t against the printed tables.
func TestTQuantile(t *testing.T) {
	for df, want := range map[int]float64{1: 12.706205, 2: 4.302653, 4: 2.776445, 7: 2.364624, 9: 2.262157, 30: 2.042272} {
		if got := TQuantile(df); !near(got, want) {
			t.Errorf("t(0.975, %d) = %.6f, want %.6f", df, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name                string
		xs                  []float64
		mean, sd, low, high float64
	}{
		// {1,2,3,4,5}: mean 3; squared deviations 4+1+0+1+4 = 10, variance 10/4 = 2.5,
		// sd √2.5 = 1.581139; standard error 1.581139/√5 = 0.707107; t(0.975,4) = 2.776445;
		// half-width 2.776445 × 0.707107 = 1.963243, so 3 ± 1.963243.
		{"one to five", []float64{1, 2, 3, 4, 5}, 3, 1.581139, 1.036757, 4.963243},
		// {2,4,4,4,5,5,7,9}: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32,
		// variance 32/7 = 4.571429, sd 2.138090; se 2.138090/√8 = 0.755929; t(0.975,7) =
		// 2.364624; half-width 1.787485.
		{"eight", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 2.138090, 3.212515, 6.787485},
		// {1,3}: mean 2, sd √2, se √2/√2 = 1, t(0.975,1) = 12.706205: 2 ± 12.706205.
		{"two", []float64{1, 3}, 2, 1.414214, -10.706205, 14.706205},
		// No variance: the interval collapses onto the mean.
		{"constant", []float64{4, 4, 4}, 4, 0, 4, 4},
		// One run: a mean, but no spread and no interval.
		{"one", []float64{7}, 7, nan, nan, nan},
		{"empty", nil, nan, nan, nan, nan},
	} {
		s := Describe(tc.xs)
		if s.N != len(tc.xs) || !near(s.Mean, tc.mean) || !near(s.SD, tc.sd) || !near(s.Low, tc.low) || !near(s.High, tc.high) {
			t.Errorf("%s: got %+v, want mean %v sd %v CI [%v, %v]", tc.name, s, tc.mean, tc.sd, tc.low, tc.high)
		}
	}
	if h := Describe([]float64{1, 2, 3, 4, 5}).HalfWidth(); !near(h, 1.963243) {
		t.Errorf("half-width %v, want 1.963243", h)
	}
}

func TestPairedDiff(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name                       string
		base, other                []float64
		mean, sd, low, high, tt, p float64
	}{
		// d = other − base = {1,2,0,2,2}: mean 1.4; deviations −.4 .6 −1.4 .6 .6, squares
		// .16+.36+1.96+.36+.36 = 3.2, variance .8, sd .894427; se .894427/√5 = .4;
		// t = 1.4/.4 = 3.5 on 4 df. CI 1.4 ± 2.776445 × .4 = 1.4 ± 1.110578.
		// For 4 df, F(t) = 1/2 + 3/8 · t/√(1+t²/4) · (1 − t²/(12(1+t²/4))):
		// 1+12.25/4 = 4.0625, √ = 2.015564, t/√ = 1.736486; 12.25/4.0625 = 3.015385,
		// 1 − 3.015385/12 = .748718; F = .5 + .375 × 1.736486 × .748718 = .9875519;
		// p = 2(1 − F) = .024896.
		{"five seeds", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 3, 6, 7}, 1.4, 0.894427, 0.289422, 2.510578, 3.5, 0.024896},
		// d = {2,1,3}: mean 2, sd 1, se 1/√3 = .577350, t = 2√3 = 3.464102 on 2 df.
		// For 2 df, F(t) = 1/2 + t/(2√(2+t²)) = .5 + 3.464102/(2√14) = .5 + .462910 = .962910;
		// p = 2 × .037090 = .074180. CI 2 ± 4.302653 × .577350 = 2 ± 2.484138.
		{"three seeds", []float64{10, 20, 30}, []float64{12, 21, 33}, 2, 1, -0.484138, 4.484138, 3.464102, 0.074180},
		// The same, the other way round: the sign flips, the p-value does not.
		{"reversed", []float64{12, 21, 33}, []float64{10, 20, 30}, -2, 1, -4.484138, 0.484138, -3.464102, 0.074180},
		// Every seed differs by exactly 1: no variance, a certain difference.
		{"constant shift", []float64{3, 5, 9}, []float64{4, 6, 10}, 1, 0, 1, 1, inf, 0},
		// Identical: no difference at all.
		{"identical", []float64{3, 5, 9}, []float64{3, 5, 9}, 0, 0, 0, 0, nan, 1},
		// One seed: a difference but no test.
		{"one seed", []float64{3}, []float64{5}, 2, nan, nan, nan, nan, nan},
	} {
		p, err := PairedDiff(tc.base, tc.other)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !near(p.Mean, tc.mean) || !near(p.SD, tc.sd) || !near(p.Low, tc.low) || !near(p.High, tc.high) || !near(p.T, tc.tt) || !near(p.P, tc.p) {
			t.Errorf("%s: got %+v, want mean %v sd %v CI [%v, %v] t %v p %v", tc.name, p, tc.mean, tc.sd, tc.low, tc.high, tc.tt, tc.p)
		}
	}
	if _, err := PairedDiff([]float64{1, 2}, []float64{1}); !errors.Is(err, ErrLength) {
		t.Errorf("mismatched lengths: %v, want ErrLength", err)
	}
}
