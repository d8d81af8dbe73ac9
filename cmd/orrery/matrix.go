package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/scenarios/policy"
)

// scenarioAliases are other names compare and bench accept for built-in scenarios.
var scenarioAliases = map[string]string{"bin-packing": "binpack"}

// scenarioArgs maps a built-in scenario's alias to its name, unless a file has that name.
func scenarioArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	if name, ok := scenarioAliases[args[0]]; ok {
		if _, err := os.Stat(args[0]); err != nil {
			return []string{name}
		}
	}
	return args
}

// matrix is a set of independent runs: every policy on every seed.
type matrix struct {
	// load returns a fresh copy of the scenario for one run.
	load func() (*scenarios.Scenario, error)
	// policies are run in order; a nil entry runs the scenario's own scheduler configuration.
	policies []*policy.Policy
	seeds    []uint64
	until    time.Duration
	// jobs is how many runs go at once.
	jobs int
	// progress, when set, is told each time a run finishes.
	progress func(done, total int)
}

// run plays the matrix, jobs runs at a time, and returns results[policy][seed] in the order
// of m.policies and m.seeds whatever order the runs finish in. Each run is its own loop and
// cluster; nothing is shared between them but the read-only policy bytes. When runs fail, the
// error of the first in that order is returned.
func (m *matrix) run() ([][]*reports.Result, error) {
	type job struct{ p, s int }
	results := make([][]*reports.Result, len(m.policies))
	errs := make([][]error, len(m.policies))
	for i := range results {
		results[i] = make([]*reports.Result, len(m.seeds))
		errs[i] = make([]error, len(m.seeds))
	}
	total := len(m.policies) * len(m.seeds)
	queue := make(chan job)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range max(1, min(m.jobs, total)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				res, err := m.one(m.policies[j.p], m.seeds[j.s])
				results[j.p][j.s], errs[j.p][j.s] = res, err
				if m.progress != nil {
					mu.Lock()
					done++
					m.progress(done, total)
					mu.Unlock()
				}
			}
		}()
	}
	for p := range m.policies {
		for s := range m.seeds {
			queue <- job{p, s}
		}
	}
	close(queue)
	wg.Wait()
	for p := range errs {
		for s, err := range errs[p] {
			if err != nil {
				return nil, fmt.Errorf("%s, seed %d: %w", policyName(m.policies[p]), m.seeds[s], err)
			}
		}
	}
	return results, nil
}

// one runs one policy on one seed and summarizes it, without the timeline (a matrix keeps
// every result in memory).
func (m *matrix) one(p *policy.Policy, seed uint64) (*reports.Result, error) {
	s, err := m.load()
	if err != nil {
		return nil, err
	}
	opts := scenarios.RunOptions{Seed: &seed, Until: m.until}
	if p != nil {
		if opts.SchedulerConfig, err = p.Config(); err != nil {
			return nil, err
		}
		opts.Policy = p.Name
	}
	r, err := s.Run(opts)
	if err != nil {
		return nil, err
	}
	res, err := reports.Summarize(r)
	if err != nil {
		return nil, err
	}
	res.Timeline = nil
	return res, nil
}

// policyName is a policy's name, or "scenario" for the scenario's own configuration.
func policyName(p *policy.Policy) string {
	if p == nil {
		return "scenario"
	}
	return p.Name
}

// seedRange returns n seeds from start.
func seedRange(start uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = start + uint64(i)
	}
	return out
}

// progressBar returns a progress callback drawing "runs 7/20 [#####     ]" on w when w is a
// terminal, and nil otherwise (pipes, files and tests get no bar, so output stays the same
// byte for byte). The line is cleared when the last run finishes.
func progressBar(w io.Writer, label string) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	const width = 30
	return func(done, total int) {
		n := done * width / total
		fmt.Fprintf(f, "\r%s %d/%d [%s%s]", label, done, total, strings.Repeat("#", n), strings.Repeat(" ", width-n))
		if done == total {
			fmt.Fprintf(f, "\r%s\r", strings.Repeat(" ", len(label)+2*len(fmt.Sprint(total))+width+5))
		}
	}
}
