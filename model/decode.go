package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Source says where a decoded object came from.
type Source struct {
	// File is the file name given to Decode.
	File string
	// Doc is the 1-based index of the non-empty YAML document in the file.
	Doc int
	// Item is the 1-based index in a kind: List, 0 if the object was not in a List.
	Item int
	// Line is the line where the object starts.
	Line int
}

// Object is one decoded manifest object.
type Object struct {
	// Obj is the typed object, e.g. *appsv1.Deployment; it also satisfies metav1.Object.
	Obj runtime.Object
	// Kind is the object's registered kind.
	Kind *Kind
	// Source says where the object was decoded from.
	Source Source

	node *yaml.Node
}

// Meta returns the object's metadata accessor, or nil if Obj is not an API object.
func (o Object) Meta() metav1.Object {
	m, _ := o.Obj.(metav1.Object)
	return m
}

// LineOf returns the line of a field path such as "spec.template.spec.containers[0].image",
// or of its nearest ancestor present in the YAML, 0 if unknown.
func (o Object) LineOf(fieldPath string) int {
	n := o.node
	if n == nil {
		return o.Source.Line
	}
	line := n.Line
	for _, seg := range parseFieldPath(fieldPath) {
		n = unalias(n)
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := unalias(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == seg {
					next = n.Content[i+1]
					line = k.Line
					break
				}
			}
		case n.Kind == yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = unalias(next).Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// parseFieldPath splits "a.b[0].c[key.with.dots]" into "a", "b", "0", "c", "key.with.dots".
func parseFieldPath(p string) []string {
	var segs []string
	for len(p) > 0 {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return append(segs, p[1:])
			}
			segs = append(segs, p[1:end])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				return append(segs, p)
			}
			segs = append(segs, p[:end])
			p = p[end:]
		}
	}
	return segs
}

// unalias follows alias nodes to the node they stand for.
func unalias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// DecodeFile reads a manifest file and decodes it like Decode.
func DecodeFile(path string) ([]Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, data)
}

// Decode decodes multi-document YAML ('---' separated, empty documents skipped, kind: List
// expanded into its items) into typed objects, like `kubectl apply -f`. It collects every
// problem of the file into an ErrorList; objects that decoded cleanly are returned beside it.
func Decode(file string, data []byte) (objs []Object, err error) {
	d := newDecoder(file)
	defer func() {
		if r := recover(); r != nil {
			d.errs = append(d.errs, &FieldError{File: file, Detail: fmt.Sprintf("internal error decoding the file: %v", r)})
			objs, err = nil, d.errs
		}
	}()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc := 0
	for _, c := range splitDocuments(data) {
		dec := yaml.NewDecoder(bytes.NewReader(c.text))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				doc++
				d.syntaxError(doc, c.firstLine, err)
				break
			}
			shiftLines(&n, c.firstLine-1)
			if isEmptyDocument(&n) {
				continue
			}
			doc++
			objs = append(objs, d.document(doc, n.Content[0])...)
		}
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return objs, d.errs
	}
	return objs, nil
}

type chunk struct {
	firstLine int
	text      []byte
}

// splitDocuments splits a file on '---' separator lines like kubectl's YAML reader; the
// separator line stays in the next chunk with its dashes blanked, so lines and columns are kept.
func splitDocuments(data []byte) []chunk {
	var chunks []chunk
	cur := chunk{firstLine: 1}
	for i, l := range bytes.SplitAfter(data, []byte("\n")) {
		if isSeparator(l) {
			chunks = append(chunks, cur)
			cur = chunk{firstLine: i + 1, text: append([]byte("   "), l[3:]...)}
			continue
		}
		cur.text = append(cur.text, l...)
	}
	return append(chunks, cur)
}

// isSeparator reports whether a line is a '---' document separator.
func isSeparator(l []byte) bool {
	return bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r' || l[3] == '\n')
}
