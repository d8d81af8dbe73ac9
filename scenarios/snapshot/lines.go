package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// document is one YAML document of the snapshot, with the lines it spans.
type document struct {
	root       *yaml.Node
	first, end int // 1-based, inclusive
}

// splitDocuments parses data into its non-empty documents; '---' separator lines split
// documents as kubectl's reader splits them.
func splitDocuments(file string, data []byte) ([]document, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var docs []document
	start := 1
	flush := func(endLine int) error {
		// Blank lines stand for the lines before the document, so that the parser's line
		// numbers are the file's.
		chunk := bytes.Repeat([]byte("\n"), start-1)
		for i := start; i <= endLine && i <= len(lines); i++ {
			l := lines[i-1]
			if i == start && isSeparator(l) {
				chunk = append(chunk, '\n')
				continue
			}
			chunk = append(chunk, l...)
		}
		dec := yaml.NewDecoder(bytes.NewReader(chunk))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].ShortTag() == "!!null" {
				continue
			}
			docs = append(docs, document{root: n.Content[0], first: start, end: endLine})
		}
	}
	for i, l := range lines {
		if i > 0 && isSeparator(l) {
			if err := flush(i); err != nil {
				return nil, err
			}
			start = i + 1
		}
	}
	if err := flush(len(lines)); err != nil {
		return nil, err
	}
	return docs, nil
}

func isSeparator(l []byte) bool {
	return bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r' || l[3] == '\n')
}

// entry finds key in a mapping node and returns its key and value nodes and the line
// range the entry spans, given that the mapping ends at end.
func entry(m *yaml.Node, key string, end int) (k, v *yaml.Node, from, to int) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil, 0, 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		to = end
		if i+2 < len(m.Content) {
			to = m.Content[i+2].Line - 1
		}
		return m.Content[i], m.Content[i+1], m.Content[i].Line, to
	}
	return nil, nil, 0, 0
}

// scalar returns the value of a mapping's scalar entry, "" if absent.
func scalar(m *yaml.Node, key string) string {
	_, v, _, _ := entry(m, key, 0)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// blanker empties line ranges of a text, keeping its line count so that every line
// number stays valid.
type blanker struct {
	lines [][]byte
}

func newBlanker(data []byte) *blanker {
	return &blanker{lines: bytes.SplitAfter(data, []byte("\n"))}
}

// blank empties lines from..to (1-based, inclusive), keeping their line endings.
func (b *blanker) blank(from, to int) {
	for i := max(from, 1); i <= to && i <= len(b.lines); i++ {
		l := b.lines[i-1]
		switch {
		case bytes.HasSuffix(l, []byte("\r\n")):
			b.lines[i-1] = []byte("\r\n")
		case bytes.HasSuffix(l, []byte("\n")):
			b.lines[i-1] = []byte("\n")
		default:
			b.lines[i-1] = nil
		}
	}
}

func (b *blanker) bytes() []byte { return bytes.Join(b.lines, nil) }
