package model

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type intoInner struct {
	Name   string            `json:"name"`
	Weight *int32            `json:"weight,omitempty"`
	Size   resource.Quantity `json:"size,omitempty"`
}

type intoConfig struct {
	metav1.TypeMeta `json:",inline"`
	Items           []intoInner    `json:"items,omitempty"`
	Labels          map[string]int `json:"labels,omitempty"`
	Args            map[string]any `json:"args,omitempty"`
}

func TestDecodeInto(t *testing.T) {
	data := []byte(`apiVersion: test/v1
kind: Thing
items:
- name: a
  weight: 3
  size: 2Gi
labels:
  x: 1
`)
	var c intoConfig
	if err := DecodeInto("c.yaml", data, &c); err != nil {
		t.Fatal(err)
	}
	if c.APIVersion != "test/v1" || c.Kind != "Thing" || len(c.Items) != 1 || c.Items[0].Name != "a" ||
		*c.Items[0].Weight != 3 || c.Items[0].Size.String() != "2Gi" || c.Labels["x"] != 1 {
		t.Errorf("decoded %+v", c)
	}
}

func TestDecodeIntoErrors(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		field      string
		detail     string
	}{
		{"unknown field", "kind: Thing\nitems:\n- name: a\n  colour: red\n", 4, "items[0].colour", `unknown field "items[0].colour"`},
		{"wrong type", "items:\n- name: a\n  weight: heavy\n", 3, "items[0].weight", "expected integer, got string"},
		{"bad quantity", "items:\n- name: a\n  size: 2x\n", 3, "items[0].size", `Invalid value: "2x": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		{"not an object", "- a\n", 1, "", "expected object, got array"},
		{"syntax", "kind: a\nitems: b\n  c: d\n", 3, "", "yaml: mapping values are not allowed in this context"},
		{"two documents", "kind: A\n---\nkind: B\n", 3, "", "expected one YAML document, found another"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c intoConfig
			err := DecodeInto("c.yaml", []byte(tt.data), &c)
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			e := list[0]
			if e.File != "c.yaml" || e.Line != tt.line || e.Field != tt.field || tt.detail != "" && e.Detail != tt.detail {
				t.Errorf("got %+v, want line %d field %q detail %q", *e, tt.line, tt.field, tt.detail)
			}
		})
	}
}

func TestDocumentDecodeField(t *testing.T) {
	data := []byte(`items:
- name: a
  extra: &x
    name: b
    size: 1
- <<: *x
  weight: 2
`)
	doc, err := ParseDocument("c.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var in intoInner
	if err := doc.DecodeField(field.NewPath("items").Index(0).Child("extra"), &in); err != nil || in.Name != "b" {
		t.Fatalf("extra: %+v, %v", in, err)
	}
	var merged intoInner
	if err := doc.DecodeField(field.NewPath("items").Index(1), &merged); err != nil || merged.Name != "b" || *merged.Weight != 2 {
		t.Fatalf("merged: %+v, %v", merged, err)
	}
	var absent intoInner
	if err := doc.DecodeField(field.NewPath("items").Index(5), &absent); err != nil || absent.Name != "" {
		t.Fatalf("absent: %+v, %v", absent, err)
	}
	err = doc.DecodeField(field.NewPath("items").Index(0), &in)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Field != "items[0].extra" || list[0].Line != 3 {
		t.Fatalf("err = %v, want items[0].extra unknown at line 3", err)
	}
	if got := doc.LineOf("items[1].weight"); got != 7 {
		t.Errorf("LineOf = %d, want 7", got)
	}
	if e := doc.Error(field.NewPath("items").Index(1), "bad"); e.Error() != "c.yaml: line 6: items[1]: bad" {
		t.Errorf("Error = %q", e.Error())
	}
}
