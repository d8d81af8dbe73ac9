package metrics

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
)

// WriteCSV writes series as one wide CSV table: a header row "t" and the series' names,
// then one row per sample time (seconds from the start, ascending) with each series'
// value; a series without a value at a time has an empty cell.
func WriteCSV(w io.Writer, series []Series) error {
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(series)+1)
	header = append(header, "t")
	seen := map[float64]bool{}
	var times []float64
	for _, s := range series {
		header = append(header, s.Name)
		for _, p := range s.Points {
			if !seen[p.T] {
				seen[p.T] = true
				times = append(times, p.T)
			}
		}
	}
	sort.Float64s(times)
	if err := cw.Write(header); err != nil {
		return err
	}
	next := make([]int, len(series)) // each series' next point
	row := make([]string, len(header))
	for _, t := range times {
		row[0] = strconv.FormatFloat(t, 'g', -1, 64)
		for i, s := range series {
			row[i+1] = ""
			if j := next[i]; j < len(s.Points) && s.Points[j].T == t {
				row[i+1] = strconv.FormatFloat(s.Points[j].V, 'g', -1, 64)
				next[i]++
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
