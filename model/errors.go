package model

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem found in a manifest, located by file, document, line and field path.
type FieldError struct {
	// File is the file the object came from, as given to Decode.
	File string
	// Doc is the 1-based index of the YAML document in the file, 0 if unknown.
	Doc int
	// Item is the 1-based index in a kind: List, 0 if the object was not in a List.
	Item int
	// Line is the 1-based line of the offending node, 0 if unknown.
	Line int
	// Kind is the object's kind, e.g. "Deployment", empty if not known yet.
	Kind string
	// Name is the object's metadata.name, empty if not known.
	Name string
	// Field is the field path, e.g. "spec.template.spec.containers[0].image", empty for whole-document problems.
	Field string
	// Detail is the message, e.g. `Invalid value: "2x": quantities must match ...`.
	Detail string
}

// Error formats the problem like kubectl, e.g. `deploy.yaml: document 2 (Deployment "web"), line 14: spec.replicas: ...`.
func (e *FieldError) Error() string {
	var where []string
	var doc []string
	if e.Doc > 0 {
		doc = append(doc, fmt.Sprintf("document %d", e.Doc))
		if e.Item > 0 {
			doc[0] += fmt.Sprintf(", item %d", e.Item)
		}
	}
	if e.Kind != "" {
		if e.Name != "" {
			doc = append(doc, fmt.Sprintf("(%s %q)", e.Kind, e.Name))
		} else {
			doc = append(doc, fmt.Sprintf("(%s)", e.Kind))
		}
	}
	if len(doc) > 0 {
		where = append(where, strings.Join(doc, " "))
	}
	if e.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if len(where) > 0 {
		b.WriteString(strings.Join(where, ", "))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

// ErrorList is a list of manifest problems; it is an error whose text has one line per problem.
type ErrorList []*FieldError

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders problems by file, document, item and line, keeping the order of equal ones.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Doc != b.Doc {
			return a.Doc < b.Doc
		}
		if a.Item != b.Item {
			return a.Item < b.Item
		}
		return a.Line < b.Line
	})
}
