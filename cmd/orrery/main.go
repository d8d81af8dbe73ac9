// Command orrery runs Kubernetes clusters in simulation: `orrery run` plays the default
// scenario, `orrery run FILE` a scenario file, `orrery validate FILE...` checks scenarios
// and manifests, `orrery scenarios` lists the built-in ones.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/metrics"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
)

// inputError marks bad input or usage (exit 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// DefaultGOGC is the garbage collector's target orrery runs with unless the GOGC
// environment variable says otherwise: a run allocates heavily against a live heap of
// hundreds of MB, and Go's default of 100 spends a third of the CPU collecting (one
// openb-fgd run: 17.4 s of CPU and 0.83 GB at 100, 12.1 s and 1.38 GB at 400).
// Unless GOMEMLIMIT is set, the heap is held below half the machine's RAM (Go's soft
// memory limit: the collector works harder as the heap nears it), so that several
// parallel runs of orrery compare degrade to more collecting rather than swapping.
const DefaultGOGC = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGOGC)
	}
	if ram, ok := physicalMemory(); ok && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(ram / 2)
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line and returns the exit code.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "error: "+strings.ReplaceAll(err.Error(), "\n", "\nerror: "))
	var ie inputError
	var el model.ErrorList
	if errors.As(err, &ie) || errors.As(err, &el) || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg(s)") {
		return exitBadInput
	}
	return exitFailed
}

func newRoot(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "orrery",
		Short:         "A deterministic discrete-event simulator of a Kubernetes cluster",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRun(stdout), newValidate(stdout), newScenarios(stdout), newCompare(stdout), newBench(stdout), newReal(stdout))
	return root
}

func loadScenario(args []string) (*scenarios.Scenario, error) {
	if len(args) == 0 {
		return scenarios.LoadBuiltin(scenarios.Default)
	}
	arg := args[0]
	if _, err := os.Stat(arg); err != nil {
		for _, b := range scenarios.Builtin() {
			if b == arg {
				return scenarios.LoadBuiltin(arg)
			}
		}
		return nil, inputError{fmt.Errorf("scenario %q: %w", arg, err)}
	}
	s, err := scenarios.LoadFile(arg)
	if err != nil {
		return nil, inputError{err}
	}
	return s, nil
}

func newRun(stdout io.Writer) *cobra.Command {
	var (
		seed      uint64
		until     time.Duration
		output    string
		events    string
		decisions string
		schedCfg  string
		outDir    string
		csvDir    string
	)
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run a scenario (the built-in default when none is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return inputError{fmt.Errorf("-o %q: want table or json", output)}
			}
			s, err := loadScenario(args)
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), s)
			opts := scenarios.RunOptions{Until: until, Progress: progressBar(cmd.ErrOrStderr(), "virtual time %")}
			if schedCfg != "" {
				cfg, err := schedconfig.LoadFor(schedCfg, schedconfig.PluginNames(plugins.All()))
				if err != nil {
					return inputError{err}
				}
				opts.SchedulerConfig = cfg
				opts.Policy = schedCfg
			}
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			var ev *atomicFile
			if events != "" {
				if ev, err = createAtomic(events); err != nil {
					return inputError{err}
				}
				defer ev.abort()
				opts.Events = ev
			}
			var dec *atomicFile
			if decisions != "" {
				if dec, err = createAtomic(decisions); err != nil {
					return inputError{err}
				}
				defer dec.abort()
				opts.Decisions = dec
			}
			run, err := s.Run(opts)
			if err != nil {
				return err
			}
			res, err := reports.Summarize(run)
			if err != nil {
				return err
			}
			for _, f := range []*atomicFile{ev, dec} {
				if f == nil {
					continue
				}
				if err := f.commit(); err != nil {
					return err
				}
			}
			if outDir != "" {
				if err := writeResults(outDir, res); err != nil {
					return err
				}
			}
			if csvDir != "" {
				if err := writeCSV(csvDir, res); err != nil {
					return err
				}
			}
			if output == "json" {
				err = reports.WriteJSON(stdout, res)
			} else {
				err = reports.WriteText(stdout, res)
			}
			if err != nil {
				return err
			}
			return assertionsFailed(res)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed for every random choice (default: the scenario's)")
	cmd.Flags().DurationVar(&until, "until", 0, "virtual time to run for (default: the scenario's duration)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&events, "events", "", "write the event log (JSON lines) to this file")
	cmd.Flags().StringVar(&decisions, "decisions", "", "write the scheduler's decision log (JSON lines, one per scheduling cycle) to this file")
	cmd.Flags().StringVar(&outDir, "out", "", "write results.json into this directory")
	cmd.Flags().StringVar(&csvDir, "csv", "", "write the time series as one CSV table, timeseries.csv, into this directory")
	cmd.Flags().StringVar(&schedCfg, "scheduler-config", "", "a KubeSchedulerConfiguration file that replaces the scenario's scheduler configuration")
	return cmd
}

// assertionsFailed returns an error naming each failed assertion, when, and what was seen
// (exit 1), or nil.
func assertionsFailed(res *reports.Result) error {
	if res.Failed() == 0 {
		return nil
	}
	var lines []string
	for _, a := range res.Assertions {
		if !a.Passed && !a.Skipped {
			lines = append(lines, fmt.Sprintf("assertion %q (%s, %s) failed at %s: %s", a.Name, a.Expect, a.Window, a.When, a.Detail))
		}
	}
	return fmt.Errorf("%d of %d assertions failed:\n%s", res.Failed(), len(res.Assertions), strings.Join(lines, "\n"))
}

func newValidate(stdout io.Writer) *cobra.Command {
	var stderr io.Writer
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenarios and Kubernetes manifests without running them",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var all model.ErrorList
			for _, f := range args {
				if err := validateFile(f, stderr); err != nil {
					var el model.ErrorList
					if errors.As(err, &el) {
						all = append(all, el...)
						continue
					}
					return inputError{err}
				}
				fmt.Fprintf(stdout, "%s: valid\n", f)
			}
			if len(all) > 0 {
				return all
			}
			return nil
		},
	}
	cmd.PreRun = func(c *cobra.Command, _ []string) { stderr = c.ErrOrStderr() }
	return cmd
}

// printWarnings writes a scenario's import warnings, one "warning: " line each.
func printWarnings(w io.Writer, s *scenarios.Scenario) {
	for _, line := range s.Warnings() {
		fmt.Fprintln(w, "warning: "+line)
	}
}

// validateFile checks a scenario (and what it references) or a manifest file.
func validateFile(f string, stderr io.Writer) error {
	data, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	if isScenario(data) {
		s, err := scenarios.LoadFile(f)
		if err == nil {
			printWarnings(stderr, s)
		}
		return err
	}
	objs, err := model.Decode(f, data)
	if err != nil {
		return err
	}
	return model.Check(objs)
}

func isScenario(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "kind: "+scenarios.Kind {
			return true
		}
	}
	return false
}

func newScenarios(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			for _, name := range scenarios.Builtin() {
				s, err := scenarios.LoadBuiltin(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%-20s %s\n", name, s.Metadata.Description)
			}
			return nil
		},
	}
}

// atomicFile is written to a temporary file beside its target and renamed into place on
// commit, so readers never see half a file.
type atomicFile struct {
	*os.File
	target string
	done   bool
}

func createAtomic(target string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", target, err)
	}
	return &atomicFile{File: f, target: target}, nil
}

func (a *atomicFile) commit() error {
	if err := a.Sync(); err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	a.done = true
	return os.Rename(a.Name(), a.target)
}

func (a *atomicFile) abort() {
	if !a.done {
		a.Close()
		os.Remove(a.Name())
	}
}

func writeResults(dir string, res *reports.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := createAtomic(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	defer f.abort()
	if err := reports.WriteJSON(f, res); err != nil {
		return err
	}
	return f.commit()
}

// writeCSV writes the run's time series into dir/timeseries.csv.
func writeCSV(dir string, res *reports.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := createAtomic(filepath.Join(dir, "timeseries.csv"))
	if err != nil {
		return err
	}
	defer f.abort()
	if err := metrics.WriteCSV(f, res.Series); err != nil {
		return err
	}
	return f.commit()
}
