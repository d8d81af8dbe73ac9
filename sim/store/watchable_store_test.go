package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// recorder collects events as "PUT /key @rev" lines.
type recorder struct{ got []string }

func (r *recorder) fn(ev Event) { r.got = append(r.got, format(ev)) }

func format(ev Event) string { return fmt.Sprintf("%s %s @%d", ev.Type, ev.KV.Key, ev.KV.ModRevision) }

func mustWatch(t *testing.T, s *Store, prefix string, fromRev int64, fn func(Event)) *Watcher {
	t.Helper()
	w, err := s.Watch(prefix, fromRev, fn)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, fromRev, err)
	}
	return w
}

func TestWatch(t *testing.T) {
	before := []op{
		{kind: "create", key: "/registry/pods/default/a"},     // 1
		{kind: "create", key: "/registry/podsecurity/x"},      // 2
		{kind: "update", key: "/registry/pods/default/a"},     // 3
		{kind: "create", key: "/registry/pods/kube-system/b"}, // 4
		{kind: "delete", key: "/registry/pods/default/a"},     // 5
	}
	after := []op{
		{kind: "create", key: "/registry/pods/default/c"},     // 6
		{kind: "create", key: "/registry/nodes/n1"},           // 7
		{kind: "update", key: "/registry/pods/kube-system/b"}, // 8
	}
	tests := []struct {
		name    string
		prefix  string
		fromRev int64
		replay  []string // delivered before Watch returns
		live    []string
	}{
		{
			name: "from 0 sees only future writes", prefix: "/registry/pods/",
			live: []string{"PUT /registry/pods/default/c @6", "PUT /registry/pods/kube-system/b @8"},
		},
		{
			name: "from 1 replays everything matching", prefix: "/registry/pods/", fromRev: 1,
			replay: []string{"PUT /registry/pods/default/a @1", "PUT /registry/pods/default/a @3",
				"PUT /registry/pods/kube-system/b @4", "DELETE /registry/pods/default/a @5"},
			live: []string{"PUT /registry/pods/default/c @6", "PUT /registry/pods/kube-system/b @8"},
		},
		{
			name: "from a middle revision", prefix: "/registry/pods/", fromRev: 4,
			replay: []string{"PUT /registry/pods/kube-system/b @4", "DELETE /registry/pods/default/a @5"},
			live:   []string{"PUT /registry/pods/default/c @6", "PUT /registry/pods/kube-system/b @8"},
		},
		{
			name: "from Rev()+1 is the same as from 0", prefix: "/registry/pods/", fromRev: 6,
			live: []string{"PUT /registry/pods/default/c @6", "PUT /registry/pods/kube-system/b @8"},
		},
		{
			name: "narrower prefix", prefix: "/registry/pods/default/", fromRev: 1,
			replay: []string{"PUT /registry/pods/default/a @1", "PUT /registry/pods/default/a @3",
				"DELETE /registry/pods/default/a @5"},
			live: []string{"PUT /registry/pods/default/c @6"},
		},
		{
			name: "literal prefix without slash matches podsecurity", prefix: "/registry/pods", fromRev: 2,
			replay: []string{"PUT /registry/podsecurity/x @2", "PUT /registry/pods/default/a @3",
				"PUT /registry/pods/kube-system/b @4", "DELETE /registry/pods/default/a @5"},
			live: []string{"PUT /registry/pods/default/c @6", "PUT /registry/pods/kube-system/b @8"},
		},
		{
			name: "exact key", prefix: "/registry/nodes/n1", fromRev: 1,
			live: []string{"PUT /registry/nodes/n1 @7"},
		},
		{
			name: "prefix longer than every key", prefix: "/registry/pods/default/a/deeper/than/any/key",
		},
		{
			name: "empty prefix sees all", prefix: "", fromRev: 5,
			replay: []string{"DELETE /registry/pods/default/a @5"},
			live: []string{"PUT /registry/pods/default/c @6", "PUT /registry/nodes/n1 @7",
				"PUT /registry/pods/kube-system/b @8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			mustApply(t, s, before...)
			// Unrelated watchers with other prefix lengths must not disturb matching.
			mustWatch(t, s, "/registry/nodes/", 0, func(Event) {})
			mustWatch(t, s, "/x", 0, func(Event) {})
			var r recorder
			mustWatch(t, s, tt.prefix, tt.fromRev, r.fn)
			if !slices.Equal(r.got, tt.replay) {
				t.Errorf("replayed %q, want %q", r.got, tt.replay)
			}
			r.got = nil
			mustApply(t, s, after...)
			if !slices.Equal(r.got, tt.live) {
				t.Errorf("live %q, want %q", r.got, tt.live)
			}
		})
	}
}

func TestWatchStartErrors(t *testing.T) {
	s := New()
	for i := range 5 {
		mustApply(t, s, op{kind: "create", key: fmt.Sprint("/k", i)})
	}
	tests := []struct {
		fromRev int64
		wantErr error // nil for success; errAny for a non-sentinel error
	}{
		{fromRev: -1, wantErr: errAny},
		{fromRev: 0},
		{fromRev: 1},
		{fromRev: 5},
		{fromRev: 6},
		{fromRev: 7, wantErr: ErrFutureRevision},
		{fromRev: 100, wantErr: ErrFutureRevision},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fromRev), func(t *testing.T) {
			_, err := s.Watch("/", tt.fromRev, func(Event) {})
			checkErr(t, err, tt.wantErr)
		})
	}
	if _, err := New().Watch("/", 1, func(Event) {}); err != nil {
		t.Errorf("Watch from 1 on an empty store: %v", err)
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error %v", err)
	case want == errAny && err == nil:
		t.Errorf("no error, want one")
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Errorf("err = %v, want %v", err, want)
	}
}

func TestEventShape(t *testing.T) {
	s := New()
	var evs []Event
	mustWatch(t, s, "/", 0, func(ev Event) { evs = append(evs, ev) })
	mustApply(t, s,
		op{kind: "create", key: "/a", value: "v1"},
		op{kind: "update", key: "/a", value: "v2"},
		op{kind: "delete", key: "/a"},
	)
	v1 := KeyValue{Key: "/a", Value: "v1", CreateRevision: 1, ModRevision: 1, Version: 1}
	v2 := KeyValue{Key: "/a", Value: "v2", CreateRevision: 1, ModRevision: 2, Version: 2}
	want := []Event{
		{Type: Put, KV: v1},
		{Type: Put, KV: v2, PrevKV: &v1},
		{Type: Delete, KV: KeyValue{Key: "/a", Value: "v2", CreateRevision: 1, ModRevision: 3, Version: 2}, PrevKV: &v2},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i := range want {
		g, w := evs[i], want[i]
		if g.Type != w.Type || g.KV != w.KV || (g.PrevKV == nil) != (w.PrevKV == nil) ||
			(g.PrevKV != nil && *g.PrevKV != *w.PrevKV) || g.Revision() != int64(i+1) {
			t.Errorf("event %d = %+v (prev %+v), want %+v (prev %+v)", i, g, g.PrevKV, w, w.PrevKV)
		}
	}
}

func TestWatchOrderAcrossPrefixes(t *testing.T) {
	s := New()
	var log []string
	for _, p := range []string{"/registry/pods/", "", "/registry/", "/registry/pods/default/", "/registry/pods/", "/other/"} {
		name := fmt.Sprintf("w%d(%s)", len(log), p)
		log = append(log, "")
		mustWatch(t, s, p, 0, func(ev Event) { log = append(log, name) })
	}
	log = nil
	mustApply(t, s, op{kind: "create", key: "/registry/pods/default/a"})
	want := []string{"w0(/registry/pods/)", "w1()", "w2(/registry/)", "w3(/registry/pods/default/)", "w4(/registry/pods/)"}
	if !slices.Equal(log, want) {
		t.Errorf("delivery order %q, want registration order %q", log, want)
	}
}

func TestCancel(t *testing.T) {
	s := New()
	var a, b, c recorder
	wa := mustWatch(t, s, "/", 0, a.fn)
	wb := mustWatch(t, s, "/", 0, b.fn)
	mustWatch(t, s, "/", 0, c.fn)
	mustApply(t, s, op{kind: "create", key: "/1"})
	wa.Cancel()
	wa.Cancel() // twice is harmless
	mustApply(t, s, op{kind: "create", key: "/2"})
	wb.Cancel()
	mustApply(t, s, op{kind: "create", key: "/3"})
	if want := []string{"PUT /1 @1"}; !slices.Equal(a.got, want) {
		t.Errorf("a got %q, want %q", a.got, want)
	}
	if want := []string{"PUT /1 @1", "PUT /2 @2"}; !slices.Equal(b.got, want) {
		t.Errorf("b got %q, want %q", b.got, want)
	}
	if want := []string{"PUT /1 @1", "PUT /2 @2", "PUT /3 @3"}; !slices.Equal(c.got, want) {
		t.Errorf("c got %q, want %q", c.got, want)
	}
	if len(s.watchers.byPrefix["/"]) != 1 {
		t.Errorf("%d watchers left on /, want 1", len(s.watchers.byPrefix["/"]))
	}
	c2 := s.watchers.byPrefix["/"][0]
	c2.Cancel()
	if len(s.watchers.byPrefix) != 0 || len(s.watchers.lens) != 0 {
		t.Errorf("index not empty after cancelling all: %v %v", s.watchers.byPrefix, s.watchers.lens)
	}
}

func TestCancelInsideCallback(t *testing.T) {
	s := New()
	var self, later recorder
	var wSelf, wLater *Watcher
	wSelf = mustWatch(t, s, "/", 0, func(ev Event) {
		self.fn(ev)
		wSelf.Cancel()
		wLater.Cancel() // a watcher later in the same fan-out
		mustApply(t, s, op{kind: "create", key: "/from-callback"})
	})
	wLater = mustWatch(t, s, "/", 0, later.fn)
	var other recorder
	mustWatch(t, s, "/", 0, other.fn)
	mustApply(t, s, op{kind: "create", key: "/1"}, op{kind: "create", key: "/2"})
	if want := []string{"PUT /1 @1"}; !slices.Equal(self.got, want) {
		t.Errorf("self got %q, want %q", self.got, want)
	}
	if len(later.got) != 0 {
		t.Errorf("later got %q after being cancelled before its turn", later.got)
	}
	if want := []string{"PUT /1 @1", "PUT /from-callback @2", "PUT /2 @3"}; !slices.Equal(other.got, want) {
		t.Errorf("other got %q, want %q", other.got, want)
	}
}

func TestCancelDuringReplay(t *testing.T) {
	s := New()
	mustApply(t, s, op{kind: "create", key: "/1"}, op{kind: "create", key: "/2"}, op{kind: "create", key: "/3"})
	var r recorder
	w := mustWatch(t, s, "/", 1, func(ev Event) {
		r.fn(ev)
		if ev.KV.ModRevision == 2 {
			s.watchers.byPrefix["/"][0].Cancel() // w is not assigned yet during replay
		}
	})
	mustApply(t, s, op{kind: "create", key: "/4"})
	if want := []string{"PUT /1 @1", "PUT /2 @2"}; !slices.Equal(r.got, want) {
		t.Errorf("got %q, want %q", r.got, want)
	}
	w.Cancel()
}

// TestWritesInsideCallbacks checks that writes made by callbacks reach every
// watcher exactly once and in revision order, whichever watcher wrote them.
func TestWritesInsideCallbacks(t *testing.T) {
	s := New()
	var first, second, third recorder
	// first reacts to the creation of /a/1 by writing /b/1, and to /b/x by writing /c.
	mustWatch(t, s, "/", 0, func(ev Event) {
		first.fn(ev)
		switch {
		case ev.KV.Key == "/a/1" && ev.PrevKV == nil:
			mustApply(t, s, op{kind: "create", key: "/b/1"})
		case ev.KV.Key == "/b/1":
			mustApply(t, s, op{kind: "create", key: "/c"})
		}
	})
	// second writes too, after first.
	mustWatch(t, s, "/a/", 0, func(ev Event) {
		second.fn(ev)
		if ev.KV.Key == "/a/1" && ev.PrevKV == nil {
			mustApply(t, s, op{kind: "update", key: "/a/1"})
		}
	})
	mustWatch(t, s, "/", 0, third.fn)

	mustApply(t, s, op{kind: "create", key: "/a/1"})
	// Rev 1 /a/1 -> first writes /b/1 (2), second updates /a/1 (3).
	// Rev 2 /b/1 -> first writes /c (4).
	// Rev 3 /a/1 -> nothing. Rev 4 /c -> nothing.
	all := []string{"PUT /a/1 @1", "PUT /b/1 @2", "PUT /a/1 @3", "PUT /c @4"}
	if !slices.Equal(first.got, all) {
		t.Errorf("first got %q, want %q", first.got, all)
	}
	if want := []string{"PUT /a/1 @1", "PUT /a/1 @3"}; !slices.Equal(second.got, want) {
		t.Errorf("second got %q, want %q", second.got, want)
	}
	if !slices.Equal(third.got, all) {
		t.Errorf("third got %q, want %q", third.got, all)
	}
	if s.Rev() != 4 {
		t.Errorf("Rev() = %d, want 4", s.Rev())
	}
}

func TestWatchInsideCallback(t *testing.T) {
	tests := []struct {
		name    string
		fromRev func(inFlight int64) int64
		want    []string
	}{
		{
			name:    "from 0 misses the in-flight event and queued writes",
			fromRev: func(int64) int64 { return 0 },
			want:    []string{"PUT /3 @4"},
		},
		{
			name:    "from the in-flight revision gets it once, and the queued write once",
			fromRev: func(r int64) int64 { return r },
			want:    []string{"PUT /2 @2", "PUT /queued @3", "PUT /3 @4"},
		},
		{
			name:    "from an earlier revision replays history first",
			fromRev: func(int64) int64 { return 1 },
			want:    []string{"PUT /1 @1", "PUT /2 @2", "PUT /queued @3", "PUT /3 @4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			var late, other recorder
			mustWatch(t, s, "/", 0, func(ev Event) {
				if ev.KV.Key != "/2" {
					return
				}
				// A write queued behind the in-flight event, then a new watcher.
				mustApply(t, s, op{kind: "create", key: "/queued"})
				mustWatch(t, s, "/", tt.fromRev(ev.KV.ModRevision), late.fn)
			})
			mustWatch(t, s, "/", 0, other.fn)
			mustApply(t, s, op{kind: "create", key: "/1"}, op{kind: "create", key: "/2"}, op{kind: "create", key: "/3"})
			if !slices.Equal(late.got, tt.want) {
				t.Errorf("late watcher got %q, want %q", late.got, tt.want)
			}
			if want := []string{"PUT /1 @1", "PUT /2 @2", "PUT /queued @3", "PUT /3 @4"}; !slices.Equal(other.got, want) {
				t.Errorf("other watcher got %q, want %q", other.got, want)
			}
		})
	}
}

// TestWritesDuringReplay checks a watcher whose replay callback writes: the
// writes reach it (once, in order) and every other watcher.
func TestWritesDuringReplay(t *testing.T) {
	s := New()
	var other recorder
	mustWatch(t, s, "/", 0, other.fn)
	mustApply(t, s, op{kind: "create", key: "/1"}, op{kind: "create", key: "/2"})
	var r recorder
	mustWatch(t, s, "/", 1, func(ev Event) {
		r.fn(ev)
		if ev.KV.Key == "/1" {
			mustApply(t, s, op{kind: "create", key: "/from-replay"})
		}
	})
	mustApply(t, s, op{kind: "create", key: "/3"})
	want := []string{"PUT /1 @1", "PUT /2 @2", "PUT /from-replay @3", "PUT /3 @4"}
	if !slices.Equal(r.got, want) {
		t.Errorf("replaying watcher got %q, want %q", r.got, want)
	}
	if !slices.Equal(other.got, want) {
		t.Errorf("other watcher got %q, want %q", other.got, want)
	}
}

func TestPanickingCallbackLeavesStoreUsable(t *testing.T) {
	s := New()
	var r recorder
	mustWatch(t, s, "/", 0, func(ev Event) {
		if ev.KV.Key == "/boom" {
			panic("boom")
		}
	})
	mustWatch(t, s, "/", 0, r.fn)
	func() {
		defer func() { recover() }()
		s.Create("/boom", nil)
	}()
	mustApply(t, s, op{kind: "create", key: "/after"})
	// The second watcher missed /boom's fan-out (the panic cut it short) but
	// keeps receiving later events.
	if want := []string{"PUT /after @2"}; !slices.Equal(r.got, want) {
		t.Errorf("got %q, want %q", r.got, want)
	}
}
