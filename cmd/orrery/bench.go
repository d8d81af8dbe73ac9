package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/orrery-sim/orrery/reports"
	"github.com/orrery-sim/orrery/reports/stats"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/scenarios/policy"
)

// defaultTolerance is the relative tolerance of a metric when neither the baseline nor
// --tolerance gives one.
const defaultTolerance = 0.05

// defaultBenchSeeds is how many seeds bench runs when neither the baseline nor --seeds says.
const defaultBenchSeeds = 5

// baseline is the file orrery bench compares with (see README, "orrery bench").
type baseline struct {
	// Scenario is the scenario's metadata.name.
	Scenario string `json:"scenario"`
	// Policy is the policy the runs use; empty for the scenario's own scheduler configuration.
	Policy string `json:"policy,omitempty"`
	// Seeds and SeedStart choose the seeds: SeedStart … SeedStart+Seeds-1.
	Seeds     int    `json:"seeds"`
	SeedStart uint64 `json:"seedStart"`
	// Tolerance is the relative tolerance of metrics that have none of their own.
	Tolerance *float64 `json:"tolerance,omitempty"`
	// Metrics are the ranked metrics' expected means, by name.
	Metrics map[string]baselineMetric `json:"metrics"`
}

// baselineMetric is one metric's expected mean over the seeds.
type baselineMetric struct {
	Value  float64        `json:"value"`
	Unit   string         `json:"unit,omitempty"`
	Better reports.Better `json:"better"`
	// Tolerance is how far the mean may move the wrong way, relative to Value.
	Tolerance *float64 `json:"tolerance,omitempty"`
}

// Outcomes of one metric against the baseline.
const (
	benchOK        = "ok"
	benchImproved  = "improved"
	benchRegressed = "REGRESSED"
	benchMissing   = "MISSING"
	benchNew       = "new"
)

// benchRow is one metric against its baseline.
type benchRow struct {
	Metric    string
	Unit      string
	Better    reports.Better
	Baseline  float64 // NaN for a new metric
	Tolerance float64
	Now       stats.Summary
	Outcome   string
}

// failed says whether the row fails the bench.
func (r benchRow) failed() bool { return r.Outcome == benchRegressed || r.Outcome == benchMissing }

func newBench(stdout io.Writer) *cobra.Command {
	var (
		file      string
		seeds     int
		seedStart uint64
		tolerance float64
		junit     string
		update    bool
		pol       string
		jobs      int
		until     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench SCENARIO --baseline FILE",
		Short: "Run a scenario over several seeds and check its ranked metrics against a baseline (exit 1 on regression)",
		Long: `Run the scenario on several seeds, compare the mean of every ranked metric with the
baseline file, print a table of deltas and exit 1 when a metric moved the wrong way by
more than its tolerance (relative to the baseline value), or is missing. --junit writes
one JUnit testcase per metric for CI systems; --update-baseline rewrites the baseline
from this run (atomically) and exits 0.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return inputError{errors.New("--baseline: a baseline file is required")}
			}
			base, err := readBaseline(file, update)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seeds") || base.Seeds == 0 {
				base.Seeds = seeds
			}
			if cmd.Flags().Changed("seed-start") || base.SeedStart == 0 {
				base.SeedStart = seedStart
			}
			if cmd.Flags().Changed("policy") {
				base.Policy = pol
			}
			defTol := defaultTolerance
			if base.Tolerance != nil {
				defTol = *base.Tolerance
			}
			if cmd.Flags().Changed("tolerance") {
				defTol = tolerance
				if update {
					base.Tolerance = &tolerance
				}
			}
			switch {
			case base.Seeds < 1:
				return inputError{fmt.Errorf("--seeds %d: want at least 1", base.Seeds)}
			case jobs < 1:
				return inputError{fmt.Errorf("--jobs %d: want at least 1", jobs)}
			case defTol < 0 || math.IsNaN(defTol):
				return inputError{fmt.Errorf("--tolerance %v: want 0 or more", defTol)}
			}
			var pols []*policy.Policy
			if base.Policy != "" {
				if pols, err = resolvePolicies([]string{base.Policy}); err != nil {
					return err
				}
			} else {
				pols = []*policy.Policy{nil}
			}
			args = scenarioArgs(args)
			s, err := loadScenario(args)
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), s)
			if base.Scenario == "" || update {
				base.Scenario = s.Metadata.Name
			}
			if base.Scenario != s.Metadata.Name {
				return inputError{fmt.Errorf("%s: the baseline is of scenario %q, not %q", file, base.Scenario, s.Metadata.Name)}
			}
			m := &matrix{
				load:     func() (*scenarios.Scenario, error) { return loadScenario(args) },
				policies: pols, seeds: seedRange(base.SeedStart, base.Seeds), until: until, jobs: jobs,
				progress: progressBar(cmd.ErrOrStderr(), "runs"),
			}
			start := time.Now()
			results, err := m.run()
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			rows := benchRows(base, results[0], defTol)
			if update {
				if err := writeBaseline(file, updatedBaseline(base, rows)); err != nil {
					return err
				}
			}
			if err := writeBenchText(stdout, base, m.seeds, rows); err != nil {
				return err
			}
			if junit != "" {
				if err := writeJUnit(junit, base, m.seeds, rows, elapsed); err != nil {
					return err
				}
			}
			if update {
				fmt.Fprintf(stdout, "\nBaseline %s updated.\n", file)
				return nil
			}
			var bad []string
			for _, r := range rows {
				if r.failed() {
					bad = append(bad, r.Metric)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("%d of %d metrics regressed or missing: %s", len(bad), len(rows), strings.Join(bad, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "baseline", "", "the baseline JSON file (metric → value, better, tolerance)")
	cmd.Flags().IntVar(&seeds, "seeds", defaultBenchSeeds, "how many seeds to run (default: the baseline's)")
	cmd.Flags().Uint64Var(&seedStart, "seed-start", 1, "the first seed (default: the baseline's)")
	cmd.Flags().Float64Var(&tolerance, "tolerance", defaultTolerance, "relative tolerance of metrics without their own (default: the baseline's)")
	cmd.Flags().StringVar(&junit, "junit", "", "write JUnit XML (one testcase per metric) to this file")
	cmd.Flags().BoolVar(&update, "update-baseline", false, "rewrite the baseline from this run and exit 0")
	cmd.Flags().StringVar(&pol, "policy", "", "a built-in policy or KubeSchedulerConfiguration file (default: the baseline's, else the scenario's own)")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", runtime.GOMAXPROCS(0), "how many runs go at once")
	cmd.Flags().DurationVar(&until, "until", 0, "virtual time to run for (default: the scenario's duration)")
	return cmd
}

// readBaseline reads a baseline file strictly; a missing file is an empty baseline when it
// is about to be written.
func readBaseline(file string, update bool) (*baseline, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && update {
		return &baseline{Metrics: map[string]baselineMetric{}}, nil
	}
	if err != nil {
		return nil, inputError{fmt.Errorf("baseline: %w", err)}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var b baseline
	if err := dec.Decode(&b); err != nil {
		return nil, inputError{fmt.Errorf("baseline %s: %w", file, err)}
	}
	names := make([]string, 0, len(b.Metrics))
	for n := range b.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := b.Metrics[n]
		switch {
		case m.Better != reports.Lower && m.Better != reports.Higher:
			return nil, inputError{fmt.Errorf("baseline %s: metrics[%q].better: %q, want lower or higher", file, n, m.Better)}
		case m.Tolerance != nil && (*m.Tolerance < 0 || math.IsNaN(*m.Tolerance)):
			return nil, inputError{fmt.Errorf("baseline %s: metrics[%q].tolerance: %v, want 0 or more", file, n, *m.Tolerance)}
		}
	}
	if b.Tolerance != nil && *b.Tolerance < 0 {
		return nil, inputError{fmt.Errorf("baseline %s: tolerance: %v, want 0 or more", file, *b.Tolerance)}
	}
	if b.Metrics == nil {
		b.Metrics = map[string]baselineMetric{}
	}
	return &b, nil
}

// benchRows compares the runs' ranked metrics with the baseline: every baseline metric, then
// the ranked metrics the baseline does not have, each group sorted by name.
func benchRows(b *baseline, results []*reports.Result, defTol float64) []benchRow {
	metrics := make([][][]reports.Metric, 1)
	for _, res := range results {
		metrics[0] = append(metrics[0], reports.Metrics(res))
	}
	now := map[string]stats.Table{}
	for _, t := range stats.Compare([]string{"run"}, metrics) {
		if t.Better != reports.Neither {
			now[t.Metric] = t
		}
	}
	var rows []benchRow
	names := make([]string, 0, len(b.Metrics))
	for n := range b.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		bm := b.Metrics[n]
		tol := defTol
		if bm.Tolerance != nil {
			tol = *bm.Tolerance
		}
		row := benchRow{Metric: n, Unit: bm.Unit, Better: bm.Better, Baseline: bm.Value, Tolerance: tol, Outcome: benchMissing}
		if t, ok := now[n]; ok && t.Rows[0].N > 0 {
			row.Now = t.Rows[0].Summary
			row.Outcome = judge(row.Now.Mean, bm.Value, bm.Better, tol)
		}
		rows = append(rows, row)
	}
	var fresh []string
	for n := range now {
		if _, ok := b.Metrics[n]; !ok {
			fresh = append(fresh, n)
		}
	}
	sort.Strings(fresh)
	for _, n := range fresh {
		t := now[n]
		rows = append(rows, benchRow{Metric: n, Unit: t.Unit, Better: t.Better, Baseline: math.NaN(), Tolerance: defTol, Now: t.Rows[0].Summary, Outcome: benchNew})
	}
	return rows
}

// judge says whether mean is within tolerance of the baseline value: a regression when it
// moved the wrong way by more than tol·|value|, an improvement when the right way by more.
func judge(mean, value float64, better reports.Better, tol float64) string {
	slack := tol * math.Abs(value)
	worse, improved := mean > value+slack, mean < value-slack
	if better == reports.Higher {
		worse, improved = mean < value-slack, mean > value+slack
	}
	switch {
	case worse:
		return benchRegressed
	case improved:
		return benchImproved
	}
	return benchOK
}

// updatedBaseline is the baseline with this run's means, keeping each metric's own
// tolerance; metrics the run no longer reports are dropped.
func updatedBaseline(b *baseline, rows []benchRow) *baseline {
	out := *b
	out.Metrics = map[string]baselineMetric{}
	for _, r := range rows {
		if r.Outcome == benchMissing {
			continue
		}
		m := baselineMetric{Value: r.Now.Mean, Unit: r.Unit, Better: r.Better}
		if old, ok := b.Metrics[r.Metric]; ok {
			m.Tolerance = old.Tolerance
		}
		out.Metrics[r.Metric] = m
	}
	return &out
}

// writeBaseline writes the baseline atomically, indented, metrics sorted by name.
func writeBaseline(file string, b *baseline) error {
	f, err := createAtomic(file)
	if err != nil {
		return inputError{err}
	}
	defer f.abort()
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	return f.commit()
}

// pct prints a relative change as a signed percentage, or Missing.
func pct(now, base float64) string {
	if math.IsNaN(now) || math.IsNaN(base) || base == 0 {
		return stats.Missing
	}
	return stats.FormatSigned((now-base)/math.Abs(base)*100) + "%"
}

func writeBenchText(w io.Writer, b *baseline, seeds []uint64, rows []benchRow) error {
	pol := b.Policy
	if pol == "" {
		pol = "the scenario's scheduler configuration"
	}
	fmt.Fprintf(w, "Scenario %s, %s, policy %s: mean of each ranked metric against the baseline.\n", b.Scenario, seedsText(seeds), pol)
	tab := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	tab.Header("METRIC", "UNIT", "BETTER", "BASELINE", "MEAN", "95% CI", "Δ", "Δ%", "TOLERANCE", "RESULT")
	for _, r := range rows {
		delta := stats.Missing
		if !math.IsNaN(r.Baseline) && r.Now.N > 0 {
			delta = stats.FormatSigned(r.Now.Mean - r.Baseline)
		}
		_ = tab.Append(r.Metric, r.Unit, string(r.Better), stats.FormatNum(r.Baseline), stats.FormatNum(r.Now.Mean),
			stats.FormatCI(r.Now.Low, r.Now.High, false), delta, pct(r.Now.Mean, r.Baseline), stats.FormatNum(r.Tolerance*100)+"%", r.Outcome)
	}
	return tab.Render()
}

// JUnit XML, as Jenkins, GitLab and GitHub read it: one testsuite, one testcase per metric.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		Error     *junitFailure `xml:"error,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// writeJUnit writes the rows as JUnit XML, atomically; elapsed is the wall-clock time of
// the runs (the only number in any of bench's output that is not the same every time).
func writeJUnit(file string, b *baseline, seeds []uint64, rows []benchRow, elapsed time.Duration) error {
	class := "orrery.bench." + b.Scenario
	suite := junitSuite{Name: class, Time: fmt.Sprintf("%.3f", elapsed.Seconds()), Properties: []junitProperty{
		{"scenario", b.Scenario}, {"policy", b.Policy}, {"seeds", seedsText(seeds)}, {"orrery", reports.Version},
	}}
	for _, r := range rows {
		c := junitCase{Name: r.Metric, Classname: class}
		detail := fmt.Sprintf("%s (%s, %s): mean %s over %s, 95%% CI %s; baseline %s, Δ %s (%s), tolerance %s%%",
			r.Metric, r.Unit, stats.Direction(r.Better), stats.FormatNum(r.Now.Mean), seedsText(seeds),
			stats.FormatCI(r.Now.Low, r.Now.High, false), stats.FormatNum(r.Baseline), stats.FormatSigned(r.Now.Mean-r.Baseline),
			pct(r.Now.Mean, r.Baseline), stats.FormatNum(r.Tolerance*100))
		switch r.Outcome {
		case benchRegressed:
			c.Failure = &junitFailure{Type: "regression", Message: fmt.Sprintf("%s regressed: mean %s, baseline %s (%s, tolerance %s%%)",
				r.Metric, stats.FormatNum(r.Now.Mean), stats.FormatNum(r.Baseline), stats.Direction(r.Better), stats.FormatNum(r.Tolerance*100)), Text: detail}
			suite.Failures++
		case benchMissing:
			c.Error = &junitFailure{Type: "missing", Message: fmt.Sprintf("%s is in the baseline but the runs did not report it", r.Metric)}
			suite.Errors++
		default:
			c.SystemOut = r.Outcome + ": " + detail
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "orrery bench", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time, Suites: []junitSuite{suite}}
	f, err := createAtomic(file)
	if err != nil {
		return inputError{err}
	}
	defer f.abort()
	if _, err := io.WriteString(f, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(f)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if _, err := io.WriteString(f, "\n"); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	return f.commit()
}
