package stats

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{12, "12"}, {4.5, "4.5"}, {3.0001, "3"}, {1.963243, "1.963"}, {0.024896, "0.0249"},
		{0.00012346, "0.0001235"}, {999.96, "1000"}, {123456.75, "123456.8"}, {-2.5, "-2.5"},
		{0, "0"}, {math.NaN(), Missing}, {math.Inf(1), "+∞"},
	} {
		if got := FormatNum(tc.v); got != tc.want {
			t.Errorf("FormatNum(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := FormatSigned(1.4); got != "+1.4" {
		t.Errorf("FormatSigned(1.4) = %q", got)
	}
	if got := FormatCI(0.289422, 2.510578, true); got != "[+0.2894, +2.511]" {
		t.Errorf("FormatCI = %q", got)
	}
	if got := FormatCI(math.NaN(), 1, false); got != Missing {
		t.Errorf("FormatCI(NaN) = %q", got)
	}
	for p, want := range map[float64]string{0.024896: "0.0249", 0.00001: "<0.0001", 1: "1.0000", math.NaN(): Missing} {
		if got := FormatP(p); got != want {
			t.Errorf("FormatP(%v) = %q, want %q", p, got, want)
		}
	}
}
