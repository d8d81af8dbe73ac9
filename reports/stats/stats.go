// Package stats holds the statistics of orrery compare and orrery bench: the mean, standard
// deviation and Student-t confidence interval of a sample of runs, and the paired difference
// of two policies run on the same seeds with its interval and a two-sided p-value (paired
// t-test).
package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Level is the confidence level of every interval.
const Level = 0.95

// Summary describes a sample.
type Summary struct {
	N    int
	Mean float64
	// SD is the sample standard deviation (n-1 in the denominator); NaN when N < 2.
	SD float64
	// Low and High bound the Level confidence interval of the mean (Student t with N-1
	// degrees of freedom); NaN when N < 2, equal to Mean when the sample has no variance.
	Low, High float64
}

// HalfWidth returns half the width of the interval.
func (s Summary) HalfWidth() float64 { return (s.High - s.Low) / 2 }

// Describe returns the mean, standard deviation and confidence interval of xs; an empty
// sample gives N 0 and NaN everywhere.
func Describe(xs []float64) Summary {
	s := Summary{N: len(xs), Mean: math.NaN(), SD: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if s.N == 0 {
		return s
	}
	s.Mean = stat.Mean(xs, nil)
	if s.N < 2 {
		return s
	}
	s.SD = stat.StdDev(xs, nil)
	h := TQuantile(s.N-1) * s.SD / math.Sqrt(float64(s.N))
	s.Low, s.High = s.Mean-h, s.Mean+h
	return s
}

// TQuantile returns the two-sided Level critical value of Student's t with df degrees of
// freedom (the 0.975 quantile for 95%).
func TQuantile(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(1 - (1-Level)/2)
}

// Paired is the difference other − base over the seeds both were run on.
type Paired struct {
	// Summary describes the per-seed differences: their mean, SD and interval.
	Summary
	// T is the paired t statistic, mean / (SD/√N); ±Inf when the differences have no
	// variance and a mean other than 0, NaN when N < 2 or every difference is 0.
	T float64
	// P is the two-sided p-value of the paired t-test against "no difference": 2·P(T_{N-1} >
	// |t|). With no variance it is 0 when the mean differs from 0 and 1 when it is 0; NaN
	// when N < 2.
	P float64
}

// ErrLength is returned when paired samples differ in length.
var ErrLength = errors.New("paired samples differ in length")

// PairedDiff compares other with base, element by element (the same seed at the same index).
func PairedDiff(base, other []float64) (Paired, error) {
	if len(base) != len(other) {
		return Paired{}, fmt.Errorf("%w: %d and %d", ErrLength, len(base), len(other))
	}
	d := make([]float64, len(base))
	for i := range base {
		d[i] = other[i] - base[i]
	}
	p := Paired{Summary: Describe(d), T: math.NaN(), P: math.NaN()}
	if p.N < 2 {
		return p, nil
	}
	if p.SD == 0 {
		if p.Mean == 0 {
			p.P = 1
		} else {
			p.T, p.P = math.Inf(sign(p.Mean)), 0
		}
		return p, nil
	}
	p.T = p.Mean / (p.SD / math.Sqrt(float64(p.N)))
	p.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(p.N - 1)}.Survival(math.Abs(p.T))
	return p, nil
}

func sign(x float64) int {
	if x < 0 {
		return -1
	}
	return 1
}
