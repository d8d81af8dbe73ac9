package model

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// maxDepth bounds nesting, so that alias cycles and hostile input cannot exhaust the stack.
	maxDepth = 200
	// maxNodes bounds the nodes visited per document, so that alias expansion cannot explode.
	maxNodes = 1 << 18
	// maxErrorsPerObject bounds the problems reported for one object.
	maxErrorsPerObject = 50
)

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	yamlLineRE          = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// decoder decodes the YAML documents of one file; it owns its per-type field tables.
type decoder struct {
	file   string
	errs   ErrorList
	fields map[reflect.Type]map[string][]int

	// The object being decoded, for error context.
	doc, item      int
	kind, name     string
	budget         int
	budgetReported bool
	failed         bool
	objErrs        int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, fields: map[reflect.Type]map[string][]int{}}
}

// fail records a problem at a line and field path of the current object.
func (d *decoder) fail(line int, path *field.Path, detail string) {
	f := ""
	if path != nil {
		f = path.String()
	}
	d.failed = true
	d.objErrs++
	if d.objErrs > maxErrorsPerObject {
		return
	}
	if d.objErrs == maxErrorsPerObject {
		detail = "too many errors, the rest of this object is not reported"
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Doc: d.doc, Item: d.item, Line: line, Kind: d.kind, Name: d.name, Field: f, Detail: detail})
}

// syntaxError records a YAML parse error of a document that starts at firstLine.
func (d *decoder) syntaxError(doc, firstLine int, err error) {
	msg := err.Error()
	line := firstLine
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if l, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = l + firstLine - 1
		}
		msg = "yaml: " + m[2]
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Doc: doc, Line: line, Detail: msg})
}

// shiftLines adds an offset to the line of every node of a document.
func shiftLines(n *yaml.Node, off int) {
	if off == 0 || n == nil {
		return
	}
	n.Line += off
	for _, c := range n.Content {
		shiftLines(c, off)
	}
}

func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null"
}

// mapValue returns the value node of key in a mapping node, nil if absent.
func mapValue(n *yaml.Node, key string) (k, v *yaml.Node) {
	n = unalias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if kn := unalias(n.Content[i]); kn.Kind == yaml.ScalarNode && kn.Value == key {
			return kn, unalias(n.Content[i+1])
		}
	}
	return nil, nil
}

// scalarString returns a string-tagged scalar's value.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", false
	}
	return n.Value, true
}

// document decodes one YAML document: an object or a List of objects.
func (d *decoder) document(doc int, root *yaml.Node) []Object {
	d.doc, d.item, d.kind, d.name = doc, 0, "", ""
	root = unalias(root)
	if root.Kind != yaml.MappingNode {
		d.fail(root.Line, nil, fmt.Sprintf("expected object, got %s", jsonType(root)))
		return nil
	}
	_, av := mapValue(root, "apiVersion")
	_, kv := mapValue(root, "kind")
	apiVersion, _ := scalarString(av)
	kind, _ := scalarString(kv)
	if apiVersion == "v1" && kind == "List" || strings.HasSuffix(kind, "List") && isListOfKnownKind(apiVersion, kind) {
		return d.list(root)
	}
	return d.object(root)
}

func isListOfKnownKind(apiVersion, kind string) bool {
	_, ok := LookupKind(apiVersion, strings.TrimSuffix(kind, "List"))
	return ok
}

// list expands a kind: List into its items.
func (d *decoder) list(root *yaml.Node) []Object {
	var out []Object
	d.budget, d.budgetReported, d.objErrs = maxNodes, false, 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := unalias(root.Content[i]), root.Content[i+1]
		switch k.Value {
		case "apiVersion", "kind":
		case "metadata":
			var lm metav1.ListMeta
			d.value(v, reflect.ValueOf(&lm).Elem(), field.NewPath("metadata"), 0)
		case "items":
			items := unalias(v)
			if isNull(items) {
				continue
			}
			if items.Kind != yaml.SequenceNode {
				d.fail(items.Line, field.NewPath("items"), fmt.Sprintf("expected array, got %s", jsonType(items)))
				continue
			}
			for j, it := range items.Content {
				d.item = j + 1
				out = append(out, d.object(unalias(it))...)
				d.item, d.kind, d.name = 0, "", ""
			}
		default:
			d.fail(k.Line, field.NewPath(k.Value), fmt.Sprintf("unknown field %q", k.Value))
		}
	}
	return out
}

// object decodes one API object from a mapping node.
func (d *decoder) object(n *yaml.Node) []Object {
	d.kind, d.name, d.failed, d.budget, d.budgetReported, d.objErrs = "", "", false, maxNodes, false, 0
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, nil, fmt.Sprintf("expected object, got %s", jsonType(n)))
		return nil
	}
	if _, mv := mapValue(n, "metadata"); mv != nil {
		_, nv := mapValue(mv, "name")
		d.name, _ = scalarString(nv)
	}
	ak, av := mapValue(n, "apiVersion")
	kk, kv := mapValue(n, "kind")
	kind, kindOK := scalarString(kv)
	apiVersion, avOK := scalarString(av)
	if kindOK {
		d.kind = kind
	}
	switch {
	case kv == nil || isNull(kv) || kindOK && kind == "":
		d.fail(n.Line, field.NewPath("kind"), "Object 'Kind' is missing")
	case !kindOK:
		d.fail(kk.Line, field.NewPath("kind"), fmt.Sprintf("expected string, got %s", jsonType(kv)))
	}
	switch {
	case av == nil || isNull(av) || avOK && apiVersion == "":
		d.fail(n.Line, field.NewPath("apiVersion"), "Object 'apiVersion' is missing")
	case !avOK:
		d.fail(ak.Line, field.NewPath("apiVersion"), fmt.Sprintf("expected string, got %s", jsonType(av)))
	}
	if d.failed {
		return nil
	}
	k, ok := LookupKind(apiVersion, kind)
	if !ok {
		d.fail(kk.Line, field.NewPath("kind"), fmt.Sprintf("no matches for kind %q in version %q", kind, apiVersion))
		return nil
	}
	obj := k.New()
	d.value(n, reflect.ValueOf(obj).Elem(), nil, 0)
	if d.failed {
		return nil
	}
	return []Object{{Obj: obj, Kind: k, Source: Source{File: d.file, Doc: d.doc, Item: d.item, Line: n.Line}, node: n}}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// jsonType names a node's type as JSON would: string, number, boolean, null, object or array.
func jsonType(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		case "!!null":
			return "null"
		case "!!str", "!!timestamp", "!!binary":
			return "string"
		}
		return n.ShortTag()
	}
	return "unknown"
}

// isStringTag reports whether a scalar decodes as a JSON string.
func isStringTag(n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return true
	}
	return false
}

// fieldsOf returns the JSON field table of a struct type: name to index path, inline structs flattened.
func (d *decoder) fieldsOf(t reflect.Type) map[string][]int {
	if f, ok := d.fields[t]; ok {
		return f
	}
	f := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				walk(ft, idx)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, dup := f[name]; !dup {
				f[name] = idx
			}
		}
	}
	walk(t, nil)
	d.fields[t] = f
	return f
}

// fieldByIndex returns the struct field at an index path, allocating nil embedded pointers.
func fieldByIndex(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// value decodes node n into v, following json struct tags and recording problems at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path *field.Path, depth int) {
	if depth > maxDepth {
		d.fail(n.Line, path, "nesting too deep")
		return
	}
	d.budget--
	if d.budget < 0 {
		if !d.budgetReported {
			d.budgetReported = true
			d.fail(n.Line, path, "document too large or nested too deep")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(n.Line, path, "unknown alias")
			return
		}
		d.value(n.Alias, v, path, depth+1)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, depth+1)
		return
	}
	if reflect.PointerTo(v.Type()).Implements(jsonUnmarshalerType) {
		d.unmarshaler(n, v, path, depth)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v, path, depth)
	case reflect.Map:
		d.mapValue(n, v, path, depth)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			d.bytesValue(n, v, path)
			return
		}
		d.sliceValue(n, v, path, depth)
	case reflect.Interface:
		d.unmarshaler(n, v, path, depth)
	default:
		d.scalarValue(n, v, path)
	}
}

func (d *decoder) typeError(n *yaml.Node, path *field.Path, want string) {
	d.fail(n.Line, path, fmt.Sprintf("expected %s, got %s", want, jsonType(n)))
}

// pairs returns the key/value pairs of a mapping, with YAML merge keys ('<<') expanded first;
// every pair counts against the document's budget, so merge fan-out cannot explode.
func (d *decoder) pairs(n *yaml.Node, path *field.Path, depth int) [][2]*yaml.Node {
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := unalias(n.Content[i]), n.Content[i+1]
		d.budget--
		if d.budget < 0 || depth >= maxDepth {
			if !d.budgetReported {
				d.budgetReported = true
				d.fail(k.Line, path, "document too large or nested too deep")
			}
			return out
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			m := unalias(v)
			switch m.Kind {
			case yaml.MappingNode:
				out = append(out, d.pairs(m, path, depth+1)...)
			case yaml.SequenceNode:
				for _, e := range m.Content {
					if e = unalias(e); e.Kind == yaml.MappingNode {
						out = append(out, d.pairs(e, path, depth+1)...)
					}
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path *field.Path, depth int) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "object")
		return
	}
	fields := d.fieldsOf(v.Type())
	seen := map[string]bool{}
	for _, kv := range d.pairs(n, path, depth) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, fmt.Sprintf("expected string key, got %s", jsonType(k)))
			continue
		}
		child := childPath(path, k.Value)
		if seen[k.Value] {
			d.fail(k.Line, child, fmt.Sprintf("duplicate field %q", child.String()))
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k.Line, child, fmt.Sprintf("unknown field %q", child.String()))
			continue
		}
		d.value(val, fieldByIndex(v, idx), child, depth+1)
	}
}

func childPath(path *field.Path, name string) *field.Path {
	if path == nil {
		return field.NewPath(name)
	}
	return path.Child(name)
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path *field.Path, depth int) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "object")
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n.Line, path, fmt.Sprintf("unsupported map key type %s", t.Key()))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(n.Content)/2))
	}
	seen := map[string]bool{}
	for _, kv := range d.pairs(n, path, depth) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k.Line, path, fmt.Sprintf("expected string key, got %s", jsonType(k)))
			continue
		}
		var child *field.Path
		if path == nil {
			child = field.NewPath(k.Value)
		} else {
			child = path.Key(k.Value)
		}
		if seen[k.Value] {
			d.fail(k.Line, child, fmt.Sprintf("duplicate field %q", child.String()))
			continue
		}
		seen[k.Value] = true
		elem := reflect.New(t.Elem()).Elem()
		d.value(val, elem, child, depth+1)
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
	}
}

func (d *decoder) sliceValue(n *yaml.Node, v reflect.Value, path *field.Path, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, path, "array")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		var child *field.Path
		if path == nil {
			child = field.NewPath("").Index(i)
		} else {
			child = path.Index(i)
		}
		d.value(e, s.Index(i), child, depth+1)
	}
	v.Set(s)
}

func (d *decoder) bytesValue(n *yaml.Node, v reflect.Value, path *field.Path) {
	if n.Kind != yaml.ScalarNode || !isStringTag(n) {
		d.typeError(n, path, "string")
		return
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(n.Value)))
	m, err := base64.StdEncoding.Decode(b, []byte(n.Value))
	if err != nil {
		d.fail(n.Line, path, field.Invalid(path, n.Value, err.Error()).ErrorBody())
		return
	}
	v.SetBytes(b[:m])
}

func (d *decoder) scalarValue(n *yaml.Node, v reflect.Value, path *field.Path) {
	want := "number"
	switch v.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	}
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, want)
		return
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		if !isStringTag(n) {
			d.typeError(n, path, want)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			d.typeError(n, path, want)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if tag != "!!int" {
			d.typeError(n, path, "integer")
			return
		}
		if n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n.Line, path, field.Invalid(path, n.Value, fmt.Sprintf("out of range for %s", v.Type())).ErrorBody())
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if tag != "!!int" {
			d.typeError(n, path, "integer")
			return
		}
		if n.Decode(&u) != nil || v.OverflowUint(u) {
			d.fail(n.Line, path, field.Invalid(path, n.Value, fmt.Sprintf("out of range for %s", v.Type())).ErrorBody())
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		if tag != "!!int" && tag != "!!float" {
			d.typeError(n, path, want)
			return
		}
		if n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) || v.OverflowFloat(f) {
			d.fail(n.Line, path, field.Invalid(path, n.Value, "not a finite number").ErrorBody())
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n.Line, path, fmt.Sprintf("unsupported field type %s", v.Type()))
	}
}

// unmarshaler converts a subtree to JSON and hands it to the type's UnmarshalJSON (or to
// encoding/json for interface values), as the API server's JSON decoding would.
func (d *decoder) unmarshaler(n *yaml.Node, v reflect.Value, path *field.Path, depth int) {
	var buf bytes.Buffer
	if err := d.toJSON(&buf, n, depth); err != nil {
		d.fail(n.Line, path, err.Error())
		return
	}
	var err error
	if v.Kind() == reflect.Interface {
		var x any
		err = json.Unmarshal(buf.Bytes(), &x)
		if err == nil && x != nil {
			if xv := reflect.ValueOf(x); xv.Type().AssignableTo(v.Type()) {
				v.Set(xv)
			}
		}
	} else {
		err = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(buf.Bytes())
	}
	if err != nil {
		var bad any = buf.String()
		if n.Kind == yaml.ScalarNode {
			bad = n.Value
		}
		d.fail(n.Line, path, field.Invalid(path, bad, err.Error()).ErrorBody())
	}
}

// toJSON writes a YAML subtree as JSON, with scalars following their YAML 1.2 tags.
func (d *decoder) toJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	d.budget--
	if depth > maxDepth || d.budget < 0 {
		return fmt.Errorf("document too large or nested too deep")
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("unknown alias")
		}
		return d.toJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i, kv := range d.pairs(n, nil, depth) {
			k := kv[0]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected string key, got %s", jsonType(k))
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k.Value)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := d.toJSON(buf, kv[1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := d.toJSON(buf, e, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		var x any
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
			return nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return err
			}
			x = b
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				x = i
			} else {
				var u uint64
				if err := n.Decode(&u); err != nil {
					return fmt.Errorf("integer %s out of range", n.Value)
				}
				x = u
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%s is not a finite number", n.Value)
			}
			x = f
		default:
			x = n.Value
		}
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
	default:
		return fmt.Errorf("unexpected YAML node")
	}
	return nil
}
