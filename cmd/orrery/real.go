package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/orrery-sim/orrery/realmode"
	"github.com/orrery-sim/orrery/realmode/ctrdruntime"
	"github.com/orrery-sim/orrery/realmode/fidelity"
	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

func newReal(stdout io.Writer) *cobra.Command {
	var (
		address  string
		workload string
		compare  bool
		seed     uint64
		until    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "real SCENARIO",
		Short: "Run a scenario on real containers through containerd (as root); --compare also runs its simulated twin and prints a fidelity table",
		Long: `Run a scenario with the same control plane, but every pod's containers are real processes
that containerd starts in cgroups (the nodes' namespaces and cgroups sized to them), paced by
the wall clock. A private containerd is started in a temporary folder unless
--containerd-address names a running one; everything the run starts is stopped and removed
at its end, also on Ctrl-C. Needs root, and the containerd and runc Debian packages.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadScenario(args)
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), s)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := scenarios.RunOptions{Until: until}
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			real, figures, err := runReal(ctx, s, opts, realmode.Options{Address: address, Workload: workload}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			res, err := reports.Summarize(real)
			if err != nil {
				return err
			}
			if err := reports.WriteText(stdout, res); err != nil {
				return err
			}
			figures.write(stdout)
			if compare {
				twin, err := s.Run(scenarios.RunOptions{Seed: opts.Seed, Until: until})
				if err != nil {
					return fmt.Errorf("simulated twin: %w", err)
				}
				fmt.Fprintf(stdout, "\nFidelity: real run against its simulated twin (same scenario, seed %d)\n", real.Seed)
				if err := fidelity.Compare(twin.Actions, real.Actions).Write(stdout); err != nil {
					return err
				}
				fmt.Fprintln(stdout)
				if err := fidelity.WriteMetrics(stdout, fidelityMetrics(twin, real)); err != nil {
					return err
				}
			}
			return assertionsFailed(res)
		},
	}
	cmd.Flags().StringVar(&address, "containerd-address", "", "socket of a running containerd to use (default: start a private one)")
	cmd.Flags().StringVar(&workload, "workload", "", "the orrery-workload binary to run in the containers (default: beside orrery, or built from the source tree)")
	cmd.Flags().BoolVar(&compare, "compare", false, "also run the simulated twin and print the fidelity table")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed for every random choice (default: the scenario's)")
	cmd.Flags().DurationVar(&until, "until", 0, "time to run for (default: the scenario's duration)")
	return cmd
}

// realBackend runs a scenario's nodes on a real-mode run, paced by the wall clock.
type realBackend struct {
	ctx context.Context
	run *realmode.Run
}

func (b *realBackend) Runtime(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error) {
	return b.run.Runtime(clock, cfg)
}

func (b *realBackend) Drive(_ *loop.Loop, d time.Duration) error {
	if err := b.run.Pacer.RunFor(b.ctx, d, nil); err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted: stopped the run and removed its containers")
		}
		return err
	}
	return nil
}

// realFigures are what real mode measured besides the run's own results.
type realFigures struct {
	wall  time.Duration
	lag   time.Duration
	stats ctrdruntime.Stats
}

func (f realFigures) write(w io.Writer) {
	s := f.stats
	fmt.Fprintf(w, "\nReal mode: %v of wall time; the loop fell behind the wall clock by at most %v\n", f.wall.Round(time.Millisecond), f.lag.Round(time.Millisecond))
	fmt.Fprintf(w, "  container lifecycle (median)  create %v, task %v, start %v, delete %v (%d containers); SIGTERM to exit %v (%d stops)\n",
		ms(ctrdruntime.Median(s.Create)), ms(ctrdruntime.Median(s.Task)), ms(ctrdruntime.Median(s.Start)), ms(ctrdruntime.Median(s.Delete)), len(s.Start),
		ms(ctrdruntime.Median(s.StopToExit)), len(s.StopToExit))
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// runReal runs the scenario on containerd: it starts (or connects to) containerd, runs the
// scenario by the wall clock, and removes everything it started, also when interrupted.
func runReal(ctx context.Context, s *scenarios.Scenario, opts scenarios.RunOptions, ro realmode.Options, stderr io.Writer) (run *scenarios.Run, figures realFigures, err error) {
	env, err := realmode.Start(ctx, ro)
	if err != nil {
		return nil, figures, err
	}
	defer func() {
		if cerr := env.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up containerd: %w", cerr))
		}
	}()
	b := &realBackend{ctx: ctx}
	opts.Backend = func(l *loop.Loop) (scenarios.Backend, error) {
		r, err := env.NewRun(l, "")
		b.run = r
		return b, err
	}
	start := time.Now()
	run, err = s.Run(opts)
	figures.wall = time.Since(start)
	if b.run != nil {
		figures.lag, figures.stats = b.run.Pacer.MaxLag(), b.run.Host.Stats()
		if cerr := b.run.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up the run's containers: %w", cerr))
		}
	}
	if err != nil {
		return nil, figures, err
	}
	return run, figures, nil
}

// fidelityMetrics are the figures of both runs compared: startup latencies, restarts and
// their gaps, OOM kills, evictions, each fault's recovery, the Jobs' makespan.
func fidelityMetrics(sim, real *scenarios.Run) []fidelity.Metric {
	var out []fidelity.Metric
	add := func(name string, s, r float64, secs bool) {
		out = append(out, fidelity.Metric{Name: name, Sim: s, Real: r, Seconds: secs})
	}
	simGap, _ := fidelity.RestartGap(sim.Actions)
	realGap, _ := fidelity.RestartGap(real.Actions)
	if sim.Metrics != nil && real.Metrics != nil {
		s, r := sim.Metrics.Details, real.Metrics.Details
		add("scheduling latency p50", s.SchedulingLatency.P50, r.SchedulingLatency.P50, true)
		add("pod startup p50", s.PodStartup.P50, r.PodStartup.P50, true)
		add("pod startup max", s.PodStartup.Max, r.PodStartup.Max, true)
		add("restarts", float64(s.Counts.Restarts), float64(r.Counts.Restarts), false)
		add("OOM kills", float64(s.Counts.OOMKills), float64(r.Counts.OOMKills), false)
		add("evictions (taint)", float64(s.Counts.EvictionsTaint), float64(r.Counts.EvictionsTaint), false)
		for i := 0; i < len(s.Faults) && i < len(r.Faults); i++ {
			add(fmt.Sprintf("recovery from %s %s", s.Faults[i].Kind, s.Faults[i].Object), s.Faults[i].Recovery, r.Faults[i].Recovery, true)
		}
		add("Jobs' makespan", s.Makespan, r.Makespan, true)
	}
	add("OOM kill to restart (median)", simGap, realGap, true)
	return out
}
