package store

import "fmt"

// chunkSize is the number of events per history chunk, a power of two.
const chunkSize = 512

// history is the append-only log of events since the last compaction. Every
// write produces exactly one event, so the retained revisions are contiguous
// and an event is found by arithmetic, not by search. Events live in
// fixed-size chunks, so appending never copies the log (a growing slice
// would, over and over, once the log is large) and compaction frees whole
// chunks.
type history struct {
	chunks     [][]Event // every chunk but the last is full
	first      int       // index in chunks[0] of the oldest held event
	base       int64     // revision of the oldest held event; 1 until the first trim
	compactRev int64     // events below this are logically gone; 0 if never compacted
}

func newHistory() history { return history{base: 1} }

func (h *history) append(ev Event) {
	n := len(h.chunks)
	if n == 0 || len(h.chunks[n-1]) == chunkSize {
		h.chunks = append(h.chunks, make([]Event, 0, chunkSize))
		n++
	}
	h.chunks[n-1] = append(h.chunks[n-1], ev)
}

// at returns the held event with revision rev. The caller guarantees
// base <= rev <= the last revision written.
func (h *history) at(rev int64) *Event {
	i := h.first + int(rev-h.base)
	return &h.chunks[i/chunkSize][i%chunkSize]
}

// held returns the number of events physically held, compacted or not.
func (h *history) held() int {
	n := 0
	for _, c := range h.chunks {
		n += len(c)
	}
	return n - h.first
}

// checkWatchStart applies etcd's rule for a watch's start revision: a watch
// may start at the compacted revision itself (compaction at r keeps r), not
// before it, and at most one past the current revision.
func (h *history) checkWatchStart(prefix string, fromRev, curRev int64) error {
	switch {
	case fromRev < 0:
		return fmt.Errorf("store: watch %q: negative start revision %d", prefix, fromRev)
	case fromRev > 0 && fromRev < h.compactRev:
		return fmt.Errorf("store: watch %q from revision %d: %w (compacted at %d)",
			prefix, fromRev, ErrCompacted, h.compactRev)
	case fromRev > curRev+1:
		return fmt.Errorf("store: watch %q from revision %d: %w (current revision %d)",
			prefix, fromRev, ErrFutureRevision, curRev)
	}
	return nil
}

// compact marks history below rev as gone; trim releases it.
func (h *history) compact(rev, curRev int64) error {
	switch {
	case rev <= h.compactRev:
		return fmt.Errorf("store: compact at %d: %w (compacted at %d)", rev, ErrCompacted, h.compactRev)
	case rev > curRev:
		return fmt.Errorf("store: compact at %d: %w (current revision %d)", rev, ErrFutureRevision, curRev)
	}
	h.compactRev = rev
	return nil
}

// trim drops the events below compactRev and clears their slots so the
// values they reference can be collected. It is kept apart from compact
// because it must wait while events are being delivered from the log.
func (h *history) trim() {
	if h.compactRev <= h.base {
		return
	}
	i := h.first + int(h.compactRev-h.base) // index of the event at compactRev
	drop := i / chunkSize                   // whole chunks before it; the event itself is held, so drop < len(chunks)
	clear(h.chunks[:drop])
	h.chunks = h.chunks[drop:]
	if drop > 0 {
		h.first = 0
	}
	clear(h.chunks[0][h.first : i%chunkSize])
	h.first = i % chunkSize
	h.base = h.compactRev
}

// retained returns the number of events at or after the compacted revision.
func (h *history) retained(curRev int64) int {
	first := max(h.compactRev, 1)
	if curRev < first {
		return 0
	}
	return int(curRev - first + 1)
}
