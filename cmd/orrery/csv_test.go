package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/orrery-sim/orrery/reports"
)

// TestRunCSVAndOut: --out writes results.json and --csv the time series as one wide table
// whose columns are the results' series, one row per sample.
func TestRunCSVAndOut(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := execute([]string{"run", "node-failure", "--until", "1m", "--out", dir, "--csv", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	f, err := os.Open(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := reports.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 1 minute sampled every 5 s: 13 rows after the header.
	if len(rows) != 14 || len(rows[0]) != len(res.Series)+1 || rows[0][0] != "t" || rows[13][0] != "60" {
		t.Fatalf("CSV has %d rows, header %v; results have %d series", len(rows), rows[0], len(res.Series))
	}
	for i, s := range res.Series {
		if rows[0][i+1] != s.Name {
			t.Errorf("column %d is %q, want %q", i+1, rows[0][i+1], s.Name)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}
