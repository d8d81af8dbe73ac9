package stats

import (
	"math"
	"strconv"
	"strings"

	"github.com/orrery-sim/orrery/reports"
)

// Missing is how a number that does not exist (one run, no variance to test) prints.
const Missing = "—"

// FormatNum prints a number for a table the same way on every machine: four significant
// digits below 1000, one decimal above, no exponent, and Missing for NaN.
func FormatNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return Missing
	case math.IsInf(v, 1):
		return "+∞"
	case math.IsInf(v, -1):
		return "−∞"
	case math.Abs(v) >= 1000:
		return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
	case v == 0:
		return "0"
	}
	// Round to four significant digits, then print without an exponent.
	digits := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return trimZeros(strconv.FormatFloat(r, 'f', max(digits, 0), 64))
}

// FormatSigned is FormatNum with a sign on positive numbers, for differences.
func FormatSigned(v float64) string {
	s := FormatNum(v)
	if v > 0 && !math.IsInf(v, 1) {
		return "+" + s
	}
	return s
}

// FormatCI prints an interval as [low, high], or Missing.
func FormatCI(low, high float64, signed bool) string {
	if math.IsNaN(low) || math.IsNaN(high) {
		return Missing
	}
	f := FormatNum
	if signed {
		f = FormatSigned
	}
	return "[" + f(low) + ", " + f(high) + "]"
}

// FormatP prints a p-value with four decimals, "<0.0001" below that, or Missing.
func FormatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return Missing
	case p < 0.0001:
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Direction says which way a metric improves: "lower is better", "higher is better" or
// "not ranked".
func Direction(b reports.Better) string {
	switch b {
	case reports.Lower:
		return "lower is better"
	case reports.Higher:
		return "higher is better"
	}
	return "not ranked"
}
