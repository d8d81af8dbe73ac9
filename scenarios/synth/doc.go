// Package synth generates synthetic workloads from a seed: arrivals from a Poisson or a
// bursty on/off (two-state Markov-modulated Poisson) process, request sizes from a
// weighted list of pod shapes or from per-resource distributions (fixed, uniform,
// exponential, log-normal, empirical), lifetimes, and a mix of priority classes. The
// output is the arrivals of package trace, so a synthetic workload and an imported trace
// are replayed the same way. All randomness comes from the *rand.Rand (math/rand/v2) the
// caller passes in; README.md beside this file documents the models and the draw order.
package synth
