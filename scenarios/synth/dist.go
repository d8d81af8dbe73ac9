package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Dist is a distribution of real values.
type Dist interface {
	// Sample draws one value from r.
	Sample(r *rand.Rand) float64
	// Validate reports a parameter the distribution cannot use.
	Validate() error
}

// Fixed always gives Value and draws nothing.
type Fixed struct{ Value float64 }

// Sample returns Value.
func (d Fixed) Sample(*rand.Rand) float64 { return d.Value }

// Validate accepts any finite value.
func (d Fixed) Validate() error { return finite("fixed value", d.Value) }

// Uniform is uniform on [Min, Max).
type Uniform struct{ Min, Max float64 }

// Sample draws Min + (Max−Min) × U, one Float64.
func (d Uniform) Sample(r *rand.Rand) float64 { return d.Min + (d.Max-d.Min)*r.Float64() }

// Validate requires finite Min ≤ Max.
func (d Uniform) Validate() error {
	if err := finite("uniform min", d.Min); err != nil {
		return err
	}
	if err := finite("uniform max", d.Max); err != nil {
		return err
	}
	if d.Min > d.Max {
		return fmt.Errorf("uniform from %v to %v: want min ≤ max", d.Min, d.Max)
	}
	return nil
}

// Exponential has mean Mean (rate 1/Mean).
type Exponential struct{ Mean float64 }

// Sample draws Mean × E with E standard exponential, one ExpFloat64.
func (d Exponential) Sample(r *rand.Rand) float64 { return d.Mean * r.ExpFloat64() }

// Validate requires a positive finite mean.
func (d Exponential) Validate() error { return positive("exponential mean", d.Mean) }

// LogNormal is exp(N(Mu, Sigma²)): its logarithm is normal with mean Mu and standard
// deviation Sigma; its median is e^Mu and its mean e^(Mu+Sigma²/2).
type LogNormal struct{ Mu, Sigma float64 }

// LogNormalMeanStd returns the log-normal with the given mean and standard deviation.
func LogNormalMeanStd(mean, std float64) LogNormal {
	s2 := math.Log(1 + std*std/(mean*mean))
	return LogNormal{Mu: math.Log(mean) - s2/2, Sigma: math.Sqrt(s2)}
}

// Sample draws exp(Mu + Sigma × Z) with Z standard normal, one NormFloat64.
func (d LogNormal) Sample(r *rand.Rand) float64 { return math.Exp(d.Mu + d.Sigma*r.NormFloat64()) }

// Validate requires finite Mu and Sigma ≥ 0.
func (d LogNormal) Validate() error {
	if err := finite("log-normal mu", d.Mu); err != nil {
		return err
	}
	if err := finite("log-normal sigma", d.Sigma); err != nil {
		return err
	}
	if d.Sigma < 0 {
		return fmt.Errorf("log-normal sigma %v: want 0 or more", d.Sigma)
	}
	return nil
}

// Empirical picks one of Values with probability proportional to its weight.
type Empirical struct {
	Values []float64
	// Weights are non-negative, one per value; nil weighs all values equally.
	Weights []float64
}

// Sample draws one Float64 and returns the value whose cumulative weight interval holds it.
func (d Empirical) Sample(r *rand.Rand) float64 {
	return d.Values[pick(d.Weights, len(d.Values), r)]
}

// Validate requires values, as many weights as values (or none), and a positive total.
func (d Empirical) Validate() error {
	if len(d.Values) == 0 {
		return fmt.Errorf("empirical distribution: want at least one value")
	}
	for _, v := range d.Values {
		if err := finite("empirical value", v); err != nil {
			return err
		}
	}
	return validWeights("empirical distribution", d.Weights, len(d.Values))
}

// pick draws an index below n with probability proportional to weights (uniform when
// weights is nil), using one Float64.
func pick(weights []float64, n int, r *rand.Rand) int {
	u := r.Float64()
	if weights == nil {
		return min(int(u*float64(n)), n-1)
	}
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := u * total
	acc := 0.0
	cum := make([]float64, len(weights))
	for i, w := range weights {
		acc += w
		cum[i] = acc
	}
	i := sort.Search(len(cum), func(i int) bool { return cum[i] > x })
	// Rounding can leave x at the total; take the last value with weight.
	for i >= len(cum) || weights[i] == 0 {
		i--
	}
	return i
}

func validWeights(what string, weights []float64, n int) error {
	if weights == nil {
		return nil
	}
	if len(weights) != n {
		return fmt.Errorf("%s: %d weights for %d values", what, len(weights), n)
	}
	total := 0.0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("%s: weight %d is %v: want a finite weight of 0 or more", what, i, w)
		}
		total += w
	}
	if !(total > 0) {
		return fmt.Errorf("%s: the weights add up to 0", what)
	}
	return nil
}

func finite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %v: want a finite number", what, v)
	}
	return nil
}

func positive(what string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %v: want a positive finite number", what, v)
	}
	return nil
}
