package store

import "fmt"

// history is the append-only log of events since the last compaction. Every
// write produces exactly one event, so the retained revisions are contiguous
// and an event is found by arithmetic, not by search.
type history struct {
	events     []Event
	base       int64 // revision of events[0]; 1 until the first trim
	compactRev int64 // events below this are logically gone; 0 if never compacted
}

func newHistory() history { return history{base: 1} }

func (h *history) append(ev Event) { h.events = append(h.events, ev) }

// at returns the retained event with revision rev. The caller guarantees
// base <= rev < base+len(events).
func (h *history) at(rev int64) *Event { return &h.events[rev-h.base] }

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
	n := h.compactRev - h.base
	clear(h.events[:n])
	h.events = h.events[n:]
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
