package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// op is one write in a table-driven test.
type op struct {
	kind   string // "create", "update", "delete"
	key    string
	value  any
	expect int64 // expectedModRev for update and delete
}

func apply(s *Store, o op) (KeyValue, error) {
	switch o.kind {
	case "create":
		return s.Create(o.key, o.value)
	case "update":
		return s.Update(o.key, o.value, o.expect)
	case "delete":
		return s.Delete(o.key, o.expect)
	}
	panic("unknown op " + o.kind)
}

func mustApply(t *testing.T, s *Store, ops ...op) {
	t.Helper()
	for _, o := range ops {
		if _, err := apply(s, o); err != nil {
			t.Fatalf("%s %s: %v", o.kind, o.key, err)
		}
	}
}

func TestRevisions(t *testing.T) {
	tests := []struct {
		name    string
		ops     []op
		wantRev int64
		key     string
		want    KeyValue // zero Key means the key must be absent
	}{
		{
			name:    "empty store",
			wantRev: 0,
			key:     "/a",
		},
		{
			name:    "create",
			ops:     []op{{kind: "create", key: "/a", value: "v1"}},
			wantRev: 1,
			key:     "/a",
			want:    KeyValue{Key: "/a", Value: "v1", CreateRevision: 1, ModRevision: 1, Version: 1},
		},
		{
			name: "updates bump mod revision and version",
			ops: []op{
				{kind: "create", key: "/b", value: "x"},
				{kind: "create", key: "/a", value: "v1"},
				{kind: "update", key: "/a", value: "v2"},
				{kind: "update", key: "/b", value: "y"},
				{kind: "update", key: "/a", value: "v3"},
			},
			wantRev: 5,
			key:     "/a",
			want:    KeyValue{Key: "/a", Value: "v3", CreateRevision: 2, ModRevision: 5, Version: 3},
		},
		{
			name: "delete bumps revision and removes the key",
			ops: []op{
				{kind: "create", key: "/a", value: "v1"},
				{kind: "delete", key: "/a"},
			},
			wantRev: 2,
			key:     "/a",
		},
		{
			name: "recreate after delete resets version and create revision",
			ops: []op{
				{kind: "create", key: "/a", value: "v1"},
				{kind: "update", key: "/a", value: "v2"},
				{kind: "delete", key: "/a"},
				{kind: "create", key: "/a", value: "v3"},
			},
			wantRev: 4,
			key:     "/a",
			want:    KeyValue{Key: "/a", Value: "v3", CreateRevision: 4, ModRevision: 4, Version: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			mustApply(t, s, tt.ops...)
			if got := s.Rev(); got != tt.wantRev {
				t.Errorf("Rev() = %d, want %d", got, tt.wantRev)
			}
			got, ok := s.Get(tt.key)
			if wantOK := tt.want.Key != ""; ok != wantOK {
				t.Fatalf("Get(%q) ok = %v, want %v", tt.key, ok, wantOK)
			}
			if got != tt.want {
				t.Errorf("Get(%q) = %+v, want %+v", tt.key, got, tt.want)
			}
		})
	}
}

func TestWriteResults(t *testing.T) {
	s := New()
	kv, err := s.Create("/a", "v1")
	if want := (KeyValue{Key: "/a", Value: "v1", CreateRevision: 1, ModRevision: 1, Version: 1}); err != nil || kv != want {
		t.Fatalf("Create = %+v, %v; want %+v", kv, err, want)
	}
	kv, err = s.Update("/a", "v2", 1)
	if want := (KeyValue{Key: "/a", Value: "v2", CreateRevision: 1, ModRevision: 2, Version: 2}); err != nil || kv != want {
		t.Fatalf("Update = %+v, %v; want %+v", kv, err, want)
	}
	kv, err = s.Delete("/a", 2)
	if want := (KeyValue{Key: "/a", Value: "v2", CreateRevision: 1, ModRevision: 3, Version: 2}); err != nil || kv != want {
		t.Fatalf("Delete = %+v, %v; want tombstone %+v", kv, err, want)
	}
}

func TestWriteErrors(t *testing.T) {
	setup := []op{
		{kind: "create", key: "/a", value: "v1"}, // rev 1
		{kind: "update", key: "/a", value: "v2"}, // rev 2
	}
	tests := []struct {
		name    string
		op      op
		wantErr error
		wantMsg string // substring of the error text, if set
	}{
		{name: "create existing", op: op{kind: "create", key: "/a"}, wantErr: ErrKeyExists},
		{name: "update missing", op: op{kind: "update", key: "/b"}, wantErr: ErrKeyNotFound},
		{name: "delete missing", op: op{kind: "delete", key: "/b"}, wantErr: ErrKeyNotFound},
		{name: "update stale", op: op{kind: "update", key: "/a", expect: 1}, wantErr: ErrConflict,
			wantMsg: "expected mod revision 1, actual 2"},
		{name: "update future", op: op{kind: "update", key: "/a", expect: 7}, wantErr: ErrConflict,
			wantMsg: "expected mod revision 7, actual 2"},
		{name: "delete stale", op: op{kind: "delete", key: "/a", expect: 1}, wantErr: ErrConflict,
			wantMsg: "expected mod revision 1, actual 2"},
		{name: "update current", op: op{kind: "update", key: "/a", expect: 2}},
		{name: "update unconditional", op: op{kind: "update", key: "/a"}},
		{name: "delete current", op: op{kind: "delete", key: "/a", expect: 2}},
		{name: "delete unconditional", op: op{kind: "delete", key: "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			mustApply(t, s, setup...)
			var events int
			if _, err := s.Watch("", 0, func(Event) { events++ }); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Get("/a")
			_, err := apply(s, tt.op)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			wantRev, wantEvents := int64(2), 0
			if tt.wantErr == nil {
				wantRev, wantEvents = 3, 1
			}
			if s.Rev() != wantRev || events != wantEvents || s.HistoryLen() != int(wantRev) {
				t.Errorf("Rev() = %d, events = %d, HistoryLen() = %d; want %d, %d, %d",
					s.Rev(), events, s.HistoryLen(), wantRev, wantEvents, wantRev)
			}
			if after, _ := s.Get("/a"); tt.wantErr != nil && after != before {
				t.Errorf("failed write changed /a from %+v to %+v", before, after)
			}
		})
	}
}

func keysOf(s *Store, prefix string, limit int) []string {
	var keys []string
	s.Range(prefix, func(kv KeyValue) bool {
		keys = append(keys, kv.Key)
		return limit <= 0 || len(keys) < limit
	})
	return keys
}

func TestRange(t *testing.T) {
	s := New()
	for _, k := range []string{
		"/registry/pods/default/web-b",
		"/registry/podsecuritypolicies/x", // literal prefix "/registry/pods" matches this, "/registry/pods/" does not
		"/registry/pods/kube-system/dns",
		"/registry/pods/default/web-a",
		"/registry/nodes/n1",
		"/registry/pods/default/web-c",
		"/registry/pods",
	} {
		mustApply(t, s, op{kind: "create", key: k})
	}
	mustApply(t, s, op{kind: "delete", key: "/registry/pods/default/web-c"})

	tests := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{prefix: "/registry/pods/", want: []string{
			"/registry/pods/default/web-a", "/registry/pods/default/web-b", "/registry/pods/kube-system/dns"}},
		{prefix: "/registry/pods/default/", want: []string{
			"/registry/pods/default/web-a", "/registry/pods/default/web-b"}},
		{prefix: "/registry/pods", want: []string{
			"/registry/pods", "/registry/pods/default/web-a", "/registry/pods/default/web-b",
			"/registry/pods/kube-system/dns", "/registry/podsecuritypolicies/x"}},
		{prefix: "/registry/pods/", limit: 2, want: []string{
			"/registry/pods/default/web-a", "/registry/pods/default/web-b"}},
		{prefix: "/registry/pods/", limit: 1, want: []string{"/registry/pods/default/web-a"}},
		{prefix: "", want: []string{
			"/registry/nodes/n1", "/registry/pods", "/registry/pods/default/web-a", "/registry/pods/default/web-b",
			"/registry/pods/kube-system/dns", "/registry/podsecuritypolicies/x"}},
		{prefix: "/registry/pods/default/web-a", want: []string{"/registry/pods/default/web-a"}},
		{prefix: "/registry/services/", want: nil},
		{prefix: "/zzz", want: nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s limit %d", tt.prefix, tt.limit), func(t *testing.T) {
			if got := keysOf(s, tt.prefix, tt.limit); !slices.Equal(got, tt.want) {
				t.Errorf("Range(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
			if tt.limit == 0 {
				if got := s.Count(tt.prefix); got != len(tt.want) {
					t.Errorf("Count(%q) = %d, want %d", tt.prefix, got, len(tt.want))
				}
			}
		})
	}
}

func TestRangeValues(t *testing.T) {
	s := New()
	mustApply(t, s, op{kind: "create", key: "/a", value: 1}, op{kind: "update", key: "/a", value: 2})
	var got []KeyValue
	s.Range("/", func(kv KeyValue) bool { got = append(got, kv); return true })
	want := []KeyValue{{Key: "/a", Value: 2, CreateRevision: 1, ModRevision: 2, Version: 2}}
	if !slices.Equal(got, want) {
		t.Errorf("Range = %+v, want %+v", got, want)
	}
}

func TestWriteInsideRangePanics(t *testing.T) {
	s := New()
	mustApply(t, s, op{kind: "create", key: "/a"})
	defer func() {
		if recover() == nil {
			t.Error("write inside Range did not panic")
		}
		// The store stays usable after the panic.
		if _, err := s.Create("/b", nil); err != nil {
			t.Errorf("Create after recovered panic: %v", err)
		}
	}()
	s.Range("/", func(KeyValue) bool {
		s.Create("/b", nil)
		return true
	})
}

func TestEventTypeString(t *testing.T) {
	for typ, want := range map[EventType]string{Put: "PUT", Delete: "DELETE", 7: "EventType(7)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(typ), got, want)
		}
	}
}
