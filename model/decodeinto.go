package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DecodeInto decodes one YAML document strictly into out, a pointer to any Go value, by its
// json tags, with the walker Decode uses: unknown or duplicate fields, wrong types and bad
// quantities come back as an ErrorList whose entries carry file, line and field path. An
// empty document leaves out unchanged.
func DecodeInto(file string, data []byte, out any) error {
	doc, err := ParseDocument(file, data)
	if err != nil {
		return err
	}
	return doc.DecodeField(nil, out)
}

// Document is one parsed YAML document, kept so that it can be decoded a field at a time
// (for fields whose Go type depends on a sibling, such as a plugin's args on its name) and
// so that problems found after decoding can be given a line.
type Document struct {
	file string
	root *yaml.Node
}

// ParseDocument parses data as a single YAML document ('---' separators allowed around it);
// a syntax error or a second non-empty document is an ErrorList.
func ParseDocument(file string, data []byte) (*Document, error) {
	d := newDecoder(file)
	doc := &Document{file: file}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for _, c := range splitDocuments(data) {
		dec := yaml.NewDecoder(bytes.NewReader(c.text))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				d.syntaxError(0, c.firstLine, err)
				return nil, d.errs
			}
			shiftLines(&n, c.firstLine-1)
			if isEmptyDocument(&n) {
				continue
			}
			if doc.root != nil {
				d.errs = append(d.errs, &FieldError{File: file, Line: n.Content[0].Line, Detail: "expected one YAML document, found another"})
				return nil, d.errs
			}
			doc.root = n.Content[0]
		}
	}
	return doc, nil
}

// File returns the file name the document was parsed from.
func (doc *Document) File() string { return doc.file }

// DecodeField decodes the value at path (nil for the whole document) strictly into out, a
// non-nil pointer; problems are reported under path. A path absent from the document
// decodes nothing and is not an error.
func (doc *Document) DecodeField(path *field.Path, out any) (err error) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("decode %s: out must be a non-nil pointer, got %T", doc.file, out)
	}
	n := doc.node(path)
	if n == nil {
		return nil
	}
	d := newDecoder(doc.file)
	d.budget = maxNodes
	defer func() {
		if r := recover(); r != nil {
			err = ErrorList{&FieldError{File: doc.file, Line: n.Line, Detail: fmt.Sprintf("internal error decoding the file: %v", r)}}
		}
	}()
	d.value(n, v.Elem(), path, 0)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return d.errs
	}
	return nil
}

// LineOf returns the line of a field path such as "profiles[1].schedulerName", or of its
// nearest ancestor present in the document, 0 for an empty document.
func (doc *Document) LineOf(fieldPath string) int {
	if doc.root == nil {
		return 0
	}
	return Object{node: doc.root}.LineOf(fieldPath)
}

// Error returns a FieldError of this document at path's line.
func (doc *Document) Error(path *field.Path, detail string) *FieldError {
	f := ""
	if path != nil {
		f = path.String()
	}
	return &FieldError{File: doc.file, Line: doc.LineOf(f), Field: f, Detail: detail}
}

// node returns the node at path, nil if the document or the path is absent; mapping keys
// are matched after YAML merge keys are expanded, as the walker matches them.
func (doc *Document) node(path *field.Path) *yaml.Node {
	n := unalias(doc.root)
	if n == nil || path == nil {
		return n
	}
	d := newDecoder(doc.file)
	d.budget = maxNodes
	for _, seg := range parseFieldPath(path.String()) {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for _, kv := range d.pairs(n, nil, 0) {
				if kv[0].Kind == yaml.ScalarNode && kv[0].Value == seg {
					next = kv[1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next = unalias(next); next == nil {
			return nil
		}
		n = next
	}
	return n
}
