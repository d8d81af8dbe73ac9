package reports

import (
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"

	"github.com/orrery-sim/orrery/scenarios/assert"
)

// AssertionRow is the outcome of one assertion, with the virtual time it was decided.
type AssertionRow struct {
	assert.Result
	// When is At as a duration string.
	When string `json:"when"`
}

func assertionRows(rs []assert.Result) []AssertionRow {
	out := make([]AssertionRow, len(rs))
	for i, r := range rs {
		out[i] = AssertionRow{Result: r, When: r.At.String()}
	}
	return out
}

// writeAssertions prints the assertions table: each assertion's window, outcome, when it
// was decided and, for a failure, what was seen.
func writeAssertions(w io.Writer, rows []AssertionRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := tablewriter.NewWriter(w)
	t.Header("Assertion", "Expect", "Window", "Result", "At", "Seen")
	for _, r := range rows {
		result := "PASS"
		switch {
		case r.Skipped:
			result = "SKIP"
		case !r.Passed:
			result = "FAIL"
		}
		if err := t.Append(r.Name, r.Expect, r.Window, result, r.When, r.Detail); err != nil {
			return err
		}
	}
	return t.Render()
}
