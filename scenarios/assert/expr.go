// Package assert parses and checks a scenario's assertions: comparisons over workload,
// service, node and pod state ("deployment default/web available >= 6") that must hold at
// the end of a run, always, always after a time, or at least once within a window.
//
// Expressions are read against a State (the running cluster) at every sample of the run;
// this package knows nothing of how the values are computed.
package assert

import (
	"fmt"
	"strconv"
	"strings"
)

// Subject kinds and their metrics. A subject is either cluster-wide (pods, nodes,
// node-utilisation, node-allocation) or names an object as NAMESPACE/NAME.
var metrics = map[string][]string{
	"deployment":       {"available", "ready", "updated", "replicas", "unavailable"},
	"daemonset":        {"desired", "ready", "available", "unavailable"},
	"job":              {"active", "succeeded", "failed", "complete"},
	"service":          {"endpoints", "requests", "failed-requests", "failed-requests-ratio", "availability"},
	"pods":             {"pending", "running", "succeeded", "failed", "unschedulable", "total", "restarts", "evicted"},
	"nodes":            {"ready", "not-ready", "total", "unschedulable"},
	"node-utilisation": {"cpu", "memory"},
	"node-allocation":  {"cpu", "memory", "pods"},
}

// named reports whether a subject kind names one object.
func named(kind string) bool {
	switch kind {
	case "deployment", "daemonset", "job", "service":
		return true
	}
	return false
}

// Subjects lists the subject kinds in the order the documentation gives them.
var Subjects = []string{"deployment", "daemonset", "job", "service", "pods", "nodes", "node-utilisation", "node-allocation"}

// Metrics returns the metrics a subject kind offers.
func Metrics(kind string) []string { return metrics[kind] }

// Query is what an expression reads: a metric of a subject.
type Query struct {
	Kind      string // deployment, service, pods, ...
	Namespace string // for named subjects
	Name      string
	Metric    string
}

// String is the query as written.
func (q Query) String() string {
	if named(q.Kind) {
		return fmt.Sprintf("%s %s/%s %s", q.Kind, q.Namespace, q.Name, q.Metric)
	}
	return q.Kind + " " + q.Metric
}

// Op is a comparison.
type Op string

// Comparisons.
var ops = []Op{"==", "!=", "<=", ">=", "<", ">"}

// Expr is one parsed comparison: Query Op Value.
type Expr struct {
	Query Query
	Op    Op
	Value float64
	text  string
}

// String is the expression as written.
func (e Expr) String() string { return e.text }

// Holds compares a value read for the query.
func (e Expr) Holds(v float64) bool {
	switch e.Op {
	case "==":
		return v == e.Value
	case "!=":
		return v != e.Value
	case "<":
		return v < e.Value
	case "<=":
		return v <= e.Value
	case ">":
		return v > e.Value
	case ">=":
		return v >= e.Value
	}
	return false
}

// Parse reads an expression: SUBJECT [NAMESPACE/NAME] METRIC OP NUMBER, e.g.
// "deployment default/web available >= 6", "pods pending == 0",
// "service default/web failed-requests-ratio < 0.01", "node-utilisation cpu > 0.7".
func Parse(s string) (Expr, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Expr{}, fmt.Errorf("empty expression: expected SUBJECT [NAMESPACE/NAME] METRIC OP NUMBER")
	}
	kind := f[0]
	ms, ok := metrics[kind]
	if !ok {
		return Expr{}, fmt.Errorf("unknown subject %q: expected one of %s", kind, strings.Join(Subjects, ", "))
	}
	want := 4
	if named(kind) {
		want = 5
	}
	if len(f) != want {
		form := kind + " METRIC OP NUMBER"
		if named(kind) {
			form = kind + " NAMESPACE/NAME METRIC OP NUMBER"
		}
		return Expr{}, fmt.Errorf("%q: expected %d words (%s), got %d", s, want, form, len(f))
	}
	q := Query{Kind: kind}
	rest := f[1:]
	if named(kind) {
		ns, name, ok := strings.Cut(rest[0], "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return Expr{}, fmt.Errorf("%q: %s must be named as NAMESPACE/NAME, got %q", s, kind, rest[0])
		}
		q.Namespace, q.Name = ns, name
		rest = rest[1:]
	}
	q.Metric = rest[0]
	if !contains(ms, q.Metric) {
		return Expr{}, fmt.Errorf("%q: unknown metric %q of %s: expected one of %s", s, q.Metric, kind, strings.Join(ms, ", "))
	}
	op := Op(rest[1])
	if !containsOp(op) {
		return Expr{}, fmt.Errorf("%q: unknown comparison %q: expected one of == != < <= > >=", s, rest[1])
	}
	v, err := strconv.ParseFloat(rest[2], 64)
	if err != nil {
		return Expr{}, fmt.Errorf("%q: %q is not a number", s, rest[2])
	}
	return Expr{Query: q, Op: op, Value: v, text: strings.Join(f, " ")}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsOp(op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}
