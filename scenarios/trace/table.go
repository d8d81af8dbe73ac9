package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ParseError is a problem at one place of a trace file.
type ParseError struct {
	// File is the file name given to the reader.
	File string
	// Line and Column are 1-based; Column counts bytes, 0 if unknown.
	Line, Column int
	// Field is the column's name, empty for whole-line problems.
	Field string
	// Detail says what was expected and what was found.
	Detail string
}

// Error formats the problem as file:line:column: column "name": detail.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "column %q: ", e.Field)
	}
	b.WriteString(e.Detail)
	return b.String()
}

// table reads a CSV file one record at a time, finding columns by name.
type table struct {
	file    string
	r       *csv.Reader
	columns []string
	index   map[string]int
	row     []string
}

// openTable reads the header of a CSV file. Every column must be one of known and every
// one of required must be present; lines starting with comment (if not 0) are skipped.
func openTable(file string, rd io.Reader, known, required []string, comment rune) (*table, error) {
	t := &table{file: file, r: csv.NewReader(rd)}
	t.r.Comment = comment
	header, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{File: file, Line: 1, Detail: fmt.Sprintf("empty file: want a header line with the columns %s", strings.Join(required, ","))}
	}
	if err != nil {
		return nil, t.csvError(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	t.index = map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		line, col := t.r.FieldPos(i)
		_, dup := t.index[h]
		switch {
		case !isKnown[h]:
			return nil, &ParseError{File: file, Line: line, Column: col, Detail: fmt.Sprintf("unknown column %q in the header: want columns among %s", h, strings.Join(known, ","))}
		case dup:
			return nil, &ParseError{File: file, Line: line, Column: col, Detail: fmt.Sprintf("column %q appears twice in the header", h)}
		}
		t.index[h] = i
		t.columns = append(t.columns, h)
	}
	for _, c := range required {
		if _, ok := t.index[c]; !ok {
			return nil, &ParseError{File: file, Line: 1, Detail: fmt.Sprintf("the header lacks the column %q: want at least %s", c, strings.Join(required, ","))}
		}
	}
	return t, nil
}

// openFixed reads a CSV file without a header whose columns are, in order, columns.
func openFixed(file string, rd io.Reader, columns []string) *table {
	t := &table{file: file, r: csv.NewReader(rd), columns: columns, index: map[string]int{}}
	t.r.FieldsPerRecord = len(columns)
	for i, c := range columns {
		t.index[c] = i
	}
	return t
}

// next reads the next record; it reports false at the end of the file.
func (t *table) next() (bool, error) {
	row, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, t.csvError(err)
	}
	t.row = row
	return true, nil
}

func (t *table) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		detail := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			detail = fmt.Sprintf("wrong number of fields: want %d (%s)", len(t.columns), strings.Join(t.columns, ","))
		}
		return &ParseError{File: t.file, Line: pe.Line, Column: pe.Column, Detail: detail}
	}
	return fmt.Errorf("read %s: %w", t.file, err)
}

// line returns the current record's line.
func (t *table) line() int {
	l, _ := t.r.FieldPos(0)
	return l
}

// has reports whether the file has the column.
func (t *table) has(col string) bool {
	_, ok := t.index[col]
	return ok
}

// str returns the column's trimmed value in the current record, "" if the file lacks it.
func (t *table) str(col string) string {
	i, ok := t.index[col]
	if !ok {
		return ""
	}
	return strings.TrimSpace(t.row[i])
}

// errorf returns a ParseError at the column's field in the current record.
func (t *table) errorf(col, format string, args ...any) *ParseError {
	e := &ParseError{File: t.file, Field: col, Detail: fmt.Sprintf(format, args...)}
	if i, ok := t.index[col]; ok {
		e.Line, e.Column = t.r.FieldPos(i)
	} else {
		e.Line = t.line()
	}
	return e
}

// int reads an integer column within [lo, hi]; empty is def.
func (t *table) int(col string, lo, hi, def int64) (int64, error) {
	s := t.str(col)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some exports write integers as floats ("12000.0").
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, t.errorf(col, "expected an integer, got %q", s)
		}
		v = int64(f)
	}
	if v < lo || v > hi {
		return 0, t.errorf(col, "expected an integer from %d to %d, got %d", lo, hi, v)
	}
	return v, nil
}

// float reads a non-negative number column; empty is def.
func (t *table) float(col string, def float64) (float64, error) {
	s := t.str(col)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, t.errorf(col, "expected a non-negative number, got %q", s)
	}
	return v, nil
}

// quantity reads a Kubernetes quantity column; empty is the zero quantity and false.
func (t *table) quantity(col string) (resource.Quantity, bool, error) {
	s := t.str(col)
	if s == "" {
		return resource.Quantity{}, false, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, false, t.errorf(col, "expected a Kubernetes quantity such as 500m, 2 or 4Gi, got %q", s)
	}
	if q.Sign() < 0 {
		return q, false, t.errorf(col, "expected a non-negative quantity, got %q", s)
	}
	return q, true, nil
}

// duration reads a Go duration column; empty is 0 and false.
func (t *table) duration(col string) (time.Duration, bool, error) {
	s := t.str(col)
	if s == "" {
		return 0, false, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false, t.errorf(col, "expected a non-negative Go duration such as 90s, 1m30s or 2h, got %q", s)
	}
	return d, true, nil
}

// openFile opens a trace file for a reader function.
func openFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	return read(f)
}

// seconds converts whole seconds of a trace to a duration.
func seconds(s int64) time.Duration { return time.Duration(s) * time.Second }
