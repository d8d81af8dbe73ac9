package store

import (
	"fmt"
	"slices"
	"testing"
)

func TestCompact(t *testing.T) {
	tests := []struct {
		name        string
		writes      int
		compacts    []int64
		wantErr     []error // one per compact
		wantCompact int64
		wantHistory int
	}{
		{name: "empty store at 0", compacts: []int64{0}, wantErr: []error{ErrCompacted}},
		{name: "empty store at 1", compacts: []int64{1}, wantErr: []error{ErrFutureRevision}},
		{name: "no compaction", writes: 5, wantHistory: 5},
		{name: "at 1 keeps everything", writes: 5, compacts: []int64{1}, wantErr: []error{nil},
			wantCompact: 1, wantHistory: 5},
		{name: "at 3 keeps 3..5", writes: 5, compacts: []int64{3}, wantErr: []error{nil},
			wantCompact: 3, wantHistory: 3},
		{name: "at the current revision keeps it", writes: 5, compacts: []int64{5}, wantErr: []error{nil},
			wantCompact: 5, wantHistory: 1},
		{name: "future", writes: 5, compacts: []int64{6}, wantErr: []error{ErrFutureRevision}, wantHistory: 5},
		{name: "twice at the same revision", writes: 5, compacts: []int64{3, 3},
			wantErr: []error{nil, ErrCompacted}, wantCompact: 3, wantHistory: 3},
		{name: "backwards", writes: 5, compacts: []int64{4, 2},
			wantErr: []error{nil, ErrCompacted}, wantCompact: 4, wantHistory: 2},
		{name: "forwards", writes: 5, compacts: []int64{2, 4},
			wantErr: []error{nil, nil}, wantCompact: 4, wantHistory: 2},
		{name: "negative", writes: 5, compacts: []int64{-1}, wantErr: []error{ErrCompacted}, wantHistory: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			for i := range tt.writes {
				mustApply(t, s, op{kind: "create", key: fmt.Sprint("/k", i)})
			}
			for i, rev := range tt.compacts {
				checkErr(t, s.Compact(rev), tt.wantErr[i])
			}
			if s.CompactRevision() != tt.wantCompact || s.HistoryLen() != tt.wantHistory {
				t.Errorf("CompactRevision() = %d, HistoryLen() = %d; want %d, %d",
					s.CompactRevision(), s.HistoryLen(), tt.wantCompact, tt.wantHistory)
			}
			if s.hist.held() != tt.wantHistory {
				t.Errorf("%d events held, want %d", s.hist.held(), tt.wantHistory)
			}
		})
	}
}

func TestWatchAfterCompact(t *testing.T) {
	tests := []struct {
		fromRev int64
		wantErr error
		replay  []string
	}{
		{fromRev: 1, wantErr: ErrCompacted},
		{fromRev: 2, wantErr: ErrCompacted},
		{fromRev: 3, replay: []string{"PUT /k2 @3", "PUT /k3 @4", "PUT /k4 @5"}}, // etcd: start == compact revision is allowed
		{fromRev: 5, replay: []string{"PUT /k4 @5"}},
		{fromRev: 6},
		{fromRev: 7, wantErr: ErrFutureRevision},
		{fromRev: 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fromRev), func(t *testing.T) {
			s := New()
			for i := range 5 {
				mustApply(t, s, op{kind: "create", key: fmt.Sprint("/k", i)})
			}
			if err := s.Compact(3); err != nil {
				t.Fatal(err)
			}
			var r recorder
			_, err := s.Watch("/", tt.fromRev, r.fn)
			checkErr(t, err, tt.wantErr)
			if !slices.Equal(r.got, tt.replay) {
				t.Errorf("replayed %q, want %q", r.got, tt.replay)
			}
		})
	}
}

// TestCompactInsideCallback checks that a compaction made during delivery
// does not pull events from under watchers still being served, and is
// applied to the held history once delivery ends.
func TestCompactInsideCallback(t *testing.T) {
	s := New()
	var first, second recorder
	mustWatch(t, s, "/", 0, func(ev Event) {
		first.fn(ev)
		if ev.KV.Key == "/1" {
			mustApply(t, s, op{kind: "create", key: "/2"}, op{kind: "create", key: "/3"})
			if err := s.Compact(s.Rev()); err != nil {
				t.Error(err)
			}
			if _, err := s.Watch("/", 2, func(Event) {}); err == nil {
				t.Error("Watch from a revision compacted inside a callback succeeded")
			}
		}
	})
	mustWatch(t, s, "/", 0, second.fn)
	mustApply(t, s, op{kind: "create", key: "/1"})
	want := []string{"PUT /1 @1", "PUT /2 @2", "PUT /3 @3"}
	if !slices.Equal(first.got, want) || !slices.Equal(second.got, want) {
		t.Errorf("first got %q, second got %q; want %q", first.got, second.got, want)
	}
	if s.CompactRevision() != 3 || s.HistoryLen() != 1 || s.hist.held() != 1 {
		t.Errorf("CompactRevision() = %d, HistoryLen() = %d, held %d; want 3, 1, 1",
			s.CompactRevision(), s.HistoryLen(), s.hist.held())
	}
	mustApply(t, s, op{kind: "create", key: "/4"})
	var r recorder
	mustWatch(t, s, "/", 3, r.fn)
	if want := []string{"PUT /3 @3", "PUT /4 @4"}; !slices.Equal(r.got, want) {
		t.Errorf("replay after compaction %q, want %q", r.got, want)
	}
}

func TestTrimAcrossChunks(t *testing.T) {
	const n = 3*chunkSize + 10
	tests := []struct {
		name     string
		compacts []int64
	}{
		{name: "inside the first chunk", compacts: []int64{8}},
		{name: "at a chunk boundary", compacts: []int64{chunkSize + 1}},
		{name: "just before a chunk boundary", compacts: []int64{chunkSize}},
		{name: "several chunks at once", compacts: []int64{2*chunkSize + 7}},
		{name: "stepwise", compacts: []int64{3, chunkSize - 1, chunkSize + 2, 2*chunkSize + 1, n}},
		{name: "the last event", compacts: []int64{n}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			for i := range n {
				mustApply(t, s, op{kind: "create", key: fmt.Sprint("/k", i), value: i})
			}
			held := slices.Clone(s.hist.chunks)
			for _, rev := range tt.compacts {
				if err := s.Compact(rev); err != nil {
					t.Fatal(err)
				}
				if got, want := s.hist.held(), int(n-rev+1); got != want || s.HistoryLen() != want {
					t.Fatalf("after Compact(%d): held %d, HistoryLen() %d, want %d", rev, got, s.HistoryLen(), want)
				}
				for r := rev; r <= n; r++ {
					if got := s.hist.at(r).KV.ModRevision; got != r {
						t.Fatalf("after Compact(%d): at(%d) has revision %d", rev, r, got)
					}
				}
			}
			// Every slot before the last compaction is cleared in the
			// chunks that are still held, so its value can be collected.
			// Whole chunks before it are dropped.
			last := tt.compacts[len(tt.compacts)-1]
			dropped := len(held) - len(s.hist.chunks)
			if wantDropped := int(last-1) / chunkSize; dropped != wantDropped {
				t.Errorf("dropped %d chunks, want %d", dropped, wantDropped)
			}
			for r := int64(1); r < last; r++ {
				i := int(r - 1)
				if i/chunkSize < dropped {
					continue
				}
				if c := held[i/chunkSize]; c[i%chunkSize].KV.Value != nil {
					t.Fatalf("slot of compacted revision %d still holds %+v", r, c[i%chunkSize].KV)
				}
			}
			var got recorder
			mustWatch(t, s, "/", last, got.fn)
			if len(got.got) != int(n-last+1) {
				t.Errorf("replay from %d gave %d events, want %d", last, len(got.got), n-last+1)
			}
		})
	}
}
