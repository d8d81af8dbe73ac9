package assert

import (
	"fmt"
	"sort"
	"time"
)

// Assertion is an expression and when it must hold:
//   - neither Always, After nor Within: at the end of the run;
//   - Always, or After alone: at every sample from After (default 0) to the end;
//   - Within: at least once in [After, After+Within].
type Assertion struct {
	Name   string
	Expr   Expr
	Always bool
	After  time.Duration
	Within time.Duration
}

// Window describes when the assertion is checked, as a reader would say it.
func (a Assertion) Window() string {
	switch {
	case a.Within > 0 && a.After > 0:
		return fmt.Sprintf("within %v after %v", a.Within, a.After)
	case a.Within > 0:
		return fmt.Sprintf("within %v", a.Within)
	case a.continuous() && a.After > 0:
		return fmt.Sprintf("always after %v", a.After)
	case a.continuous():
		return "always"
	}
	return "at the end"
}

func (a Assertion) continuous() bool { return a.Within == 0 && (a.Always || a.After > 0) }

// State reads the current value of a query; a named object that does not exist reads 0.
type State interface {
	Value(q Query) (float64, error)
}

// Result is the outcome of one assertion.
type Result struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	Window string `json:"window"`
	Passed bool   `json:"passed"`
	// Skipped is set when the run ended before the assertion's window opened (a shorter
	// --until): it was not checked, and neither passed nor failed.
	Skipped bool `json:"skipped,omitempty"`
	// At is when the outcome was decided: the failing sample, the sample that satisfied a
	// window, the window's end, or the run's end.
	At time.Duration `json:"at"`
	// Value is the query's value then.
	Value float64 `json:"value"`
	// Detail says what was seen, for a failure.
	Detail string `json:"detail,omitempty"`
}

// Checker follows assertions through a run, sample by sample.
type Checker struct {
	as      []Assertion
	results []*Result // nil until decided
	last    []float64 // the last value read in the window, per assertion
	seen    []bool
}

// NewChecker returns a checker of the assertions.
func NewChecker(as []Assertion) *Checker {
	return &Checker{as: as, results: make([]*Result, len(as)), last: make([]float64, len(as)), seen: make([]bool, len(as))}
}

// Times returns the window boundaries (After, After+Within) that a run should sample at
// exactly, besides its regular samples, sorted and without duplicates.
func (c *Checker) Times() []time.Duration {
	set := map[time.Duration]bool{}
	for _, a := range c.as {
		if a.After > 0 {
			set[a.After] = true
		}
		if a.Within > 0 {
			set[a.After+a.Within] = true
		}
	}
	out := make([]time.Duration, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Failed reports whether an assertion has already failed.
func (c *Checker) Failed() bool {
	for _, r := range c.results {
		if r != nil && !r.Passed && !r.Skipped {
			return true
		}
	}
	return false
}

// Sample reads every undecided assertion's query at virtual time now.
func (c *Checker) Sample(now time.Duration, st State) {
	for i, a := range c.as {
		if c.results[i] != nil || !a.continuous() && a.Within == 0 {
			continue // decided, or checked at the end only
		}
		if now < a.After {
			continue
		}
		if a.Within > 0 && now > a.After+a.Within {
			c.closeWindow(i, a)
			continue
		}
		v, err := st.Value(a.Expr.Query)
		if err != nil {
			c.decide(i, a, false, now, 0, fmt.Sprintf("could not read %s at %v: %v", a.Expr.Query, now, err))
			continue
		}
		c.last[i], c.seen[i] = v, true
		holds := a.Expr.Holds(v)
		switch {
		case a.continuous() && !holds:
			c.decide(i, a, false, now, v, fmt.Sprintf("%s was %s at %v", a.Expr.Query, format(v), now))
		case a.Within > 0 && holds:
			c.decide(i, a, true, now, v, "")
		case a.Within > 0 && now == a.After+a.Within:
			c.closeWindow(i, a)
		}
	}
}

// Finish samples once more at the run's end and returns every outcome, in the order the
// assertions were given.
func (c *Checker) Finish(end time.Duration, st State) []Result {
	c.Sample(end, st)
	out := make([]Result, len(c.as))
	for i, a := range c.as {
		if c.results[i] == nil {
			switch {
			case a.Within > 0 && end < a.After:
				c.skip(i, a, end)
			case a.Within > 0:
				c.decide(i, a, false, end, c.last[i], fmt.Sprintf("%s was %s when the run ended at %v, before the window closed at %v", a.Expr.Query, format(c.last[i]), end, a.After+a.Within))
			case a.continuous() && end < a.After:
				c.skip(i, a, end)
			case a.continuous():
				c.decide(i, a, true, end, c.last[i], "")
			default:
				v, err := st.Value(a.Expr.Query)
				switch {
				case err != nil:
					c.decide(i, a, false, end, 0, fmt.Sprintf("could not read %s at the end: %v", a.Expr.Query, err))
				case a.Expr.Holds(v):
					c.decide(i, a, true, end, v, "")
				default:
					c.decide(i, a, false, end, v, fmt.Sprintf("%s was %s at the end (%v)", a.Expr.Query, format(v), end))
				}
			}
		}
		out[i] = *c.results[i]
	}
	return out
}

func (c *Checker) closeWindow(i int, a Assertion) {
	closeAt := a.After + a.Within
	if !c.seen[i] {
		c.decide(i, a, false, closeAt, 0, fmt.Sprintf("%s was never sampled between %v and %v", a.Expr.Query, a.After, closeAt))
		return
	}
	c.decide(i, a, false, closeAt, c.last[i], fmt.Sprintf("%s was still %s at %v", a.Expr.Query, format(c.last[i]), closeAt))
}

func (c *Checker) skip(i int, a Assertion, end time.Duration) {
	c.results[i] = &Result{Name: a.Name, Expect: a.Expr.String(), Window: a.Window(), Skipped: true, At: end,
		Detail: fmt.Sprintf("not checked: the run ended at %v, before the window opened at %v", end, a.After)}
}

func (c *Checker) decide(i int, a Assertion, passed bool, at time.Duration, v float64, detail string) {
	c.results[i] = &Result{Name: a.Name, Expect: a.Expr.String(), Window: a.Window(), Passed: passed, At: at, Value: v, Detail: detail}
}

// format prints a value without a needless fraction.
func format(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.4g", v)
}
