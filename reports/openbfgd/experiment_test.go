package openbfgd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/reports/stats"
	"github.com/orrery-sim/orrery/scenarios"
)

// TestExperiment runs the experiment on the real default trace: every policy (or those
// OPENB_FGD_POLICIES names, comma-separated, by the paper's names) for OPENB_FGD_SEEDS
// seeds from 42, as the artifact's seeds. OPENB_FGD_TIEBREAK=random breaks ties at random
// (upstream) instead of by node order (the artifact); OPENB_FGD_SCENARIO runs a scenario
// file (another node list, say) instead of the built-in; OPENB_FGD_CSV writes every run's
// curves to that file (policy,seed,arrived%,alloc,fragGPUs,fragRatio,cpuAlloc). It prints one line per run (allocation at 100%
// and 130% arrival, unallocated GPUs, fragmentation, failed pods, wall time) and the mean
// ± 95% interval per policy. Skipped unless OPENB_FGD_SEEDS is set: a run takes about a
// minute on one core.
func TestExperiment(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("OPENB_FGD_SEEDS"))
	if n <= 0 {
		t.Skip("set OPENB_FGD_SEEDS to the number of seeds to run the experiment")
	}
	want := map[string]bool{}
	for _, p := range strings.Split(os.Getenv("OPENB_FGD_POLICIES"), ",") {
		if p != "" {
			want[p] = true
		}
	}
	s, err := scenarios.LoadBuiltin(Scenario)
	if f := os.Getenv("OPENB_FGD_SCENARIO"); f != "" {
		s, err = scenarios.LoadFile(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	fgdCfg, err := LoadConfig(dir, Policies[len(Policies)-1])
	if err != nil {
		t.Fatal(err)
	}
	w, err := Workload(fgdCfg)
	if err != nil {
		t.Fatal(err)
	}
	var csv *os.File
	if f := os.Getenv("OPENB_FGD_CSV"); f != "" {
		if csv, err = os.Create(f); err != nil {
			t.Fatal(err)
		}
		defer csv.Close()
		fmt.Fprintln(csv, "policy,seed,arrived,alloc,frag_gpus,frag_ratio,cpu_alloc")
	}
	type sample struct{ a100, a130, u130, f130, failed, wall []float64 }
	results := map[string]*sample{}
	fmt.Printf("%-14s %4s %8s %8s %9s %9s %6s %8s\n", "policy", "seed", "alloc100", "alloc130", "unalloc130", "frag130", "failed", "wall")
	for _, p := range Policies {
		if len(want) > 0 && !want[p.Name] {
			continue
		}
		cfg, err := LoadConfig(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		if os.Getenv("OPENB_FGD_TIEBREAK") == "random" {
			if cfg, err = WithoutTieBreak(cfg); err != nil {
				t.Fatal(err)
			}
		}
		r := &sample{}
		results[p.Name] = r
		for seed := uint64(42); seed < 42+uint64(n); seed++ {
			start := time.Now()
			m, err := Run(s, cfg, seed, w)
			if err != nil {
				t.Fatalf("%s seed %d: %v", p.Name, seed, err)
			}
			wall := time.Since(start)
			if csv != nil {
				for k := range m.Alloc {
					fmt.Fprintf(csv, "%s,%d,%d,%.5f,%.2f,%.5f,%.5f\n", p.Name, seed, k, m.Alloc[k], m.Frag[k], m.FragRatio[k], m.CPUAlloc[k])
				}
			}
			r.a100 = append(r.a100, 100*m.Alloc[100])
			r.a130 = append(r.a130, 100*m.Alloc[130])
			r.u130 = append(r.u130, m.Unallocated(130))
			r.f130 = append(r.f130, m.Frag[130])
			r.failed = append(r.failed, float64(m.Failed))
			r.wall = append(r.wall, wall.Seconds())
			fmt.Printf("%-14s %4d %7.2f%% %7.2f%% %9.1f %9.1f %6d %7.1fs   (%d pods, %d GPUs)\n", p.Name, seed, 100*m.Alloc[100], 100*m.Alloc[130],
				m.Unallocated(130), m.Frag[130], m.Failed, wall.Seconds(), m.Arrived, m.GPUs)
		}
	}
	fmt.Printf("\n%-14s %16s %16s %16s %16s %12s\n", "policy", "alloc@100%", "alloc@130%", "unalloc GPUs", "frag GPUs@130%", "wall s")
	for _, p := range Policies {
		r := results[p.Name]
		if r == nil {
			continue
		}
		f := func(xs []float64) string {
			d := stats.Describe(xs)
			if d.N < 2 {
				return fmt.Sprintf("%.2f", d.Mean)
			}
			return fmt.Sprintf("%.2f ± %.2f", d.Mean, d.HalfWidth())
		}
		fmt.Printf("%-14s %16s %16s %16s %16s %12s\n", p.Name, f(r.a100), f(r.a130), f(r.u130), f(r.f130), f(r.wall))
	}
}
