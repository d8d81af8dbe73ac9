package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Process is an arrival process.
type Process interface {
	// Start returns a function that gives successive arrival times from 0 (never
	// decreasing), drawing from r.
	Start(r *rand.Rand) func() time.Duration
	// Validate reports a parameter the process cannot use.
	Validate() error
}

// Poisson arrivals at Rate per second: exponential gaps of mean 1/Rate.
type Poisson struct{ Rate float64 }

// Start returns the arrival times; each gap is one ExpFloat64.
func (p Poisson) Start(r *rand.Rand) func() time.Duration {
	t := 0.0
	return func() time.Duration {
		t += r.ExpFloat64() / p.Rate
		return seconds(t)
	}
}

// Validate requires a positive rate.
func (p Poisson) Validate() error { return positive("Poisson rate", p.Rate) }

// OnOff is a bursty two-state Markov-modulated Poisson process: it stays on for an
// exponential time of mean MeanOn, arriving at OnRate per second, then off for an
// exponential time of mean MeanOff, arriving at OffRate (often 0), and so on, starting
// on. Its long-run rate is (OnRate×MeanOn + OffRate×MeanOff) / (MeanOn + MeanOff).
type OnOff struct {
	OnRate, OffRate float64
	MeanOn, MeanOff time.Duration
}

// Start returns the arrival times. It draws a sojourn when a state begins (one
// ExpFloat64) and a candidate gap at the state's rate (one ExpFloat64; none at rate 0);
// a candidate past the state's end is dropped, which memorylessness makes exact.
func (p OnOff) Start(r *rand.Rand) func() time.Duration {
	t := 0.0
	on := true
	end := p.MeanOn.Seconds() * r.ExpFloat64()
	return func() time.Duration {
		for {
			rate := p.OffRate
			if on {
				rate = p.OnRate
			}
			if rate > 0 {
				if next := t + r.ExpFloat64()/rate; next < end {
					t = next
					return seconds(t)
				}
			}
			t = end
			on = !on
			mean := p.MeanOff
			if on {
				mean = p.MeanOn
			}
			end = t + mean.Seconds()*r.ExpFloat64()
		}
	}
}

// Validate requires non-negative rates, one of them positive, and positive mean sojourns.
func (p OnOff) Validate() error {
	for _, v := range []struct {
		what string
		rate float64
	}{{"on rate", p.OnRate}, {"off rate", p.OffRate}} {
		if math.IsNaN(v.rate) || math.IsInf(v.rate, 0) || v.rate < 0 {
			return fmt.Errorf("on/off %s %v: want a finite rate of 0 or more", v.what, v.rate)
		}
	}
	if p.OnRate == 0 && p.OffRate == 0 {
		return fmt.Errorf("on/off process: both rates are 0, nothing would arrive")
	}
	if p.MeanOn <= 0 || p.MeanOff <= 0 {
		return fmt.Errorf("on/off process: mean on %v and off %v: want positive durations", p.MeanOn, p.MeanOff)
	}
	return nil
}

// seconds converts seconds to a duration, rounding to the nanosecond and saturating.
func seconds(s float64) time.Duration {
	ns := math.Round(s * 1e9)
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
