package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
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

// comparison is what orrery compare found: every policy on every seed, and per metric the
// statistics of each policy and its paired difference from the first.
type comparison struct {
	Scenario string
	Seeds    []uint64
	Policies []*policy.Policy
	// Results holds results[policy][seed], in the order of Policies and Seeds.
	Results [][]*reports.Result
	Tables  []stats.Table
}

func newCompare(stdout io.Writer) *cobra.Command {
	var (
		policies  []string
		seeds     int
		seedStart uint64
		jobs      int
		until     time.Duration
		output    string
		report    string
		plots     string
		only      []string
	)
	cmd := &cobra.Command{
		Use:   "compare SCENARIO [--policy A --policy B ...] [--seeds N]",
		Short: "Run a scenario under several scheduler policies over the same seeds and compare their metrics",
		Long: `Run every policy on seeds seed-start … seed-start+N-1 (runs in parallel, results in a fixed
order) and print, per metric, each policy's mean, standard deviation and 95% confidence
interval (Student t), and its paired difference from the first policy (same seeds) with
its interval and the two-sided p-value of a paired t-test.

A policy is a built-in name (` + strings.Join(policy.Names(), ", ") + `)
or the path of a KubeSchedulerConfiguration file. Without --policy, the policies (and the
metrics shown, unless --metric is given) are those the scenario's spec.compare lists:
orrery compare openb-fgd runs the six GPU-sharing policies of its paper.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return inputError{fmt.Errorf("-o %q: want table or json", output)}
			}
			if seeds < 1 {
				return inputError{fmt.Errorf("--seeds %d: want at least 1", seeds)}
			}
			if jobs < 1 {
				return inputError{fmt.Errorf("--jobs %d: want at least 1", jobs)}
			}
			args = scenarioArgs(args)
			s, err := loadScenario(args)
			if err != nil {
				return err
			}
			var pols []*policy.Policy
			switch {
			case len(policies) > 0:
				if pols, err = resolvePolicies(policies); err != nil {
					return err
				}
			case s.Spec.Compare != nil && len(s.Spec.Compare.Policies) > 0:
				if pols, err = scenarioPolicies(s.Spec.Compare); err != nil {
					return err
				}
				if len(only) == 0 {
					only = s.Spec.Compare.Metrics
				}
			default:
				return inputError{errors.New("--policy: at least one policy is required (built in: " + strings.Join(policy.Names(), ", ") + "), unless the scenario lists spec.compare.policies")}
			}
			printWarnings(cmd.ErrOrStderr(), s)
			m := &matrix{
				load:     func() (*scenarios.Scenario, error) { return loadScenario(args) },
				policies: pols, seeds: seedRange(seedStart, seeds), until: until, jobs: jobs,
				progress: progressBar(cmd.ErrOrStderr(), "runs"),
			}
			results, err := m.run()
			if err != nil {
				return err
			}
			c := newComparison(s.Metadata.Name, m.seeds, pols, results)
			if len(only) > 0 {
				if c.Tables = selectMetrics(c.Tables, only); len(c.Tables) == 0 {
					return inputError{fmt.Errorf("--metric %s: no metric has that name or prefix", strings.Join(only, ", "))}
				}
			}
			if report != "" {
				if err := writeReport(report, c); err != nil {
					return err
				}
			}
			if plots != "" {
				if err := writePlots(plots, c); err != nil {
					return err
				}
			}
			if output == "json" {
				return writeComparisonJSON(stdout, c)
			}
			return writeComparisonText(stdout, c)
		},
	}
	cmd.Flags().StringArrayVar(&policies, "policy", nil, "a policy to run: a built-in name or a KubeSchedulerConfiguration file (repeat; the first is the baseline of the differences)")
	cmd.Flags().IntVar(&seeds, "seeds", 10, "how many seeds to run each policy on")
	cmd.Flags().Uint64Var(&seedStart, "seed-start", 1, "the first seed")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", runtime.GOMAXPROCS(0), "how many runs go at once")
	cmd.Flags().DurationVar(&until, "until", 0, "virtual time to run for (default: the scenario's duration)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&report, "report", "", "write a self-contained HTML report (tables and plots) to this file")
	cmd.Flags().StringVar(&plots, "plots", "", "write every plot as SVG and PNG into this directory")
	cmd.Flags().StringArrayVar(&only, "metric", nil, "show only metrics of this name or dotted prefix (repeat; nodes.in-use, scheduling.latency)")
	return cmd
}

// selectMetrics keeps the tables whose metric is one of names or starts with one of them
// followed by a dot.
func selectMetrics(tables []stats.Table, names []string) []stats.Table {
	var out []stats.Table
	for _, t := range tables {
		for _, n := range names {
			if t.Metric == n || strings.HasPrefix(t.Metric, strings.TrimSuffix(n, ".")+".") {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// scenarioPolicies are the policies a scenario's spec.compare lists.
func scenarioPolicies(c *scenarios.CompareSpec) ([]*policy.Policy, error) {
	out := make([]*policy.Policy, 0, len(c.Policies))
	for _, cp := range c.Policies {
		p, err := policy.New(cp.Name, cp.Source, cp.Data)
		if err != nil {
			return nil, inputError{err}
		}
		out = append(out, p)
	}
	return out, nil
}

// resolvePolicies resolves each --policy once, refusing the same name twice.
func resolvePolicies(names []string) ([]*policy.Policy, error) {
	seen := map[string]bool{}
	var out []*policy.Policy
	for _, n := range names {
		if seen[n] {
			return nil, inputError{fmt.Errorf("--policy %q given twice", n)}
		}
		seen[n] = true
		p, err := policy.Resolve(n)
		if err != nil {
			return nil, inputError{err}
		}
		out = append(out, p)
	}
	return out, nil
}

func newComparison(scenario string, seeds []uint64, pols []*policy.Policy, results [][]*reports.Result) *comparison {
	names := make([]string, len(pols))
	metrics := make([][][]reports.Metric, len(pols))
	for i, p := range pols {
		names[i] = p.Name
		metrics[i] = make([][]reports.Metric, len(seeds))
		for j, res := range results[i] {
			metrics[i][j] = reports.Metrics(res)
		}
	}
	return &comparison{Scenario: scenario, Seeds: seeds, Policies: pols, Results: results, Tables: stats.Compare(names, metrics)}
}

// seedsText describes the seeds: "10 seeds (1–10)".
func seedsText(seeds []uint64) string {
	if len(seeds) == 1 {
		return fmt.Sprintf("1 seed (%d)", seeds[0])
	}
	return fmt.Sprintf("%d seeds (%d–%d)", len(seeds), seeds[0], seeds[len(seeds)-1])
}

func writeComparisonText(w io.Writer, c *comparison) error {
	var pols []string
	for _, p := range c.Policies {
		pols = append(pols, p.Name+" ("+p.Source+")")
	}
	fmt.Fprintf(w, "Scenario %s, %s, policies: %s\n", c.Scenario, seedsText(c.Seeds), strings.Join(pols, ", "))
	fmt.Fprintf(w, "Mean ± 95%% confidence interval (Student t); Δ = policy − %s on the same seeds, paired t-test.\n", c.Policies[0].Name)
	for _, t := range c.Tables {
		fmt.Fprintf(w, "\n%s (%s, %s)\n", t.Metric, t.Unit, stats.Direction(t.Better))
		if err := comparisonTable(w, t).Render(); err != nil {
			return err
		}
	}
	return nil
}

// comparisonTable lays one metric out: a row per policy.
func comparisonTable(w io.Writer, t stats.Table) *tablewriter.Table {
	// Headers are written as shown: the automatic formatting would space out "95%".
	tab := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	base := t.Rows[0].Policy
	tab.Header("POLICY", "RUNS", "MEAN", "SD", "95% CI", "Δ VS "+strings.ToUpper(base), "95% CI OF Δ", "P")
	for _, r := range t.Rows {
		d, dci, p := stats.Missing, stats.Missing, stats.Missing
		if r.Diff != nil {
			d, dci, p = stats.FormatSigned(r.Diff.Mean), stats.FormatCI(r.Diff.Low, r.Diff.High, true), stats.FormatP(r.Diff.P)
		}
		_ = tab.Append(r.Policy, fmt.Sprint(r.N), stats.FormatNum(r.Mean), stats.FormatNum(r.SD), stats.FormatCI(r.Low, r.High, false), d, dci, p)
	}
	return tab
}

// num is a float that encodes NaN and infinities as JSON null.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

func nums(xs []float64) []num {
	out := make([]num, len(xs))
	for i, x := range xs {
		out[i] = num(x)
	}
	return out
}

// Comparison JSON (orrery compare -o json); numbers that do not exist are null.
type (
	comparisonJSON struct {
		Scenario string       `json:"scenario"`
		Seeds    []uint64     `json:"seeds"`
		Level    float64      `json:"level"`
		Policies []policyJSON `json:"policies"`
		Metrics  []metricJSON `json:"metrics"`
		Runs     []runRefJSON `json:"runs"`
		Orrery   string       `json:"orrery"`
	}
	policyJSON struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	}
	metricJSON struct {
		Name     string         `json:"name"`
		Unit     string         `json:"unit"`
		Better   reports.Better `json:"better,omitempty"`
		Policies []rowJSON      `json:"policies"`
	}
	rowJSON struct {
		Policy string `json:"policy"`
		Values []num  `json:"values"`
		summaryJSON
		Diff *diffJSON `json:"diff,omitempty"`
	}
	summaryJSON struct {
		N    int    `json:"n"`
		Mean num    `json:"mean"`
		SD   num    `json:"sd"`
		CI   [2]num `json:"ci"`
	}
	diffJSON struct {
		summaryJSON
		T num `json:"t"`
		P num `json:"p"`
	}
	runRefJSON struct {
		Policy   string `json:"policy"`
		Seed     uint64 `json:"seed"`
		EventLog string `json:"eventLogSHA256"`
		Failed   int    `json:"assertionsFailed"`
	}
)

func summaryOf(s stats.Summary) summaryJSON {
	return summaryJSON{N: s.N, Mean: num(s.Mean), SD: num(s.SD), CI: [2]num{num(s.Low), num(s.High)}}
}

func writeComparisonJSON(w io.Writer, c *comparison) error {
	out := comparisonJSON{Scenario: c.Scenario, Seeds: c.Seeds, Level: stats.Level, Orrery: reports.Version}
	for i, p := range c.Policies {
		out.Policies = append(out.Policies, policyJSON{p.Name, p.Source})
		for j, res := range c.Results[i] {
			out.Runs = append(out.Runs, runRefJSON{Policy: p.Name, Seed: c.Seeds[j], EventLog: res.EventLog.SHA256, Failed: res.Failed()})
		}
	}
	for _, t := range c.Tables {
		m := metricJSON{Name: t.Metric, Unit: t.Unit, Better: t.Better}
		for _, r := range t.Rows {
			row := rowJSON{Policy: r.Policy, Values: nums(r.Values), summaryJSON: summaryOf(r.Summary)}
			if r.Diff != nil {
				row.Diff = &diffJSON{summaryJSON: summaryOf(r.Diff.Summary), T: num(r.Diff.T), P: num(r.Diff.P)}
			}
			m.Policies = append(m.Policies, row)
		}
		out.Metrics = append(out.Metrics, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
