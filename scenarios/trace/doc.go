// Package trace imports workload traces — the Alibaba OpenB GPU trace, the Alibaba
// cluster-trace-v2018 batch and container tables, and a documented generic CSV — into one
// form: nodes and a list of pod arrivals, each with the time it arrives and how long it
// stays. It also holds the transformations the literature applies to traces (time
// scaling, sampling, inflation, and the OpenB paper's sample-to-target protocol) and the
// way GPUs are expressed on pods and nodes. Everything is deterministic: randomness comes
// only from a *rand.Rand the caller passes in, and arrivals are kept in a stable order.
// README.md beside this file documents every format and option.
package trace
