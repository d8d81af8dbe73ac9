package store

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// Store is an etcd-like revisioned key-value store with prefix watches. The
// zero value is not usable; call New.
//
// Watch callbacks run synchronously inside the write that caused them, after
// the write is committed, in watcher registration order. A callback may call
// any Store method. Writes made from a callback are queued and delivered once
// the event in flight has reached every watcher, so each watcher sees every
// event exactly once and in revision order. A Range callback must not write;
// doing so panics.
type Store struct {
	kv       kvStore
	hist     history
	watchers watcherIndex

	nextWatcherID uint64
	notified      int64 // last revision fanned out to watchers
	delivering    bool  // a fan-out or a watch catch-up is on the stack
	scratch       []*Watcher
}

// Watcher is one registered watch; Cancel stops it.
type Watcher struct {
	s        *Store
	id       uint64 // registration order; ties are impossible
	prefix   string
	fn       func(Event)
	next     int64 // lowest revision this watcher has not yet been offered
	canceled bool
}

// watcherIndex groups watchers by their exact prefix. A key's candidate
// prefixes are its own leading substrings; only the lengths some watcher
// registered are looked up, so a write costs one map lookup per distinct
// registered prefix length (not per watcher), plus the watchers it matches.
type watcherIndex struct {
	byPrefix map[string][]*Watcher // each slice in registration order; replaced, never edited in place
	lens     []int                 // distinct len(prefix) in use, ascending
	lenRefs  []int                 // lenRefs[i] prefixes have length lens[i]
}

// New returns an empty store at revision 0.
func New() *Store {
	return &Store{
		kv:       newKVStore(),
		hist:     newHistory(),
		watchers: watcherIndex{byPrefix: make(map[string][]*Watcher)},
	}
}

// Rev returns the current revision: 0 for a new store, plus 1 per successful write.
func (s *Store) Rev() int64 { return s.kv.rev }

// CompactRevision returns the revision of the last compaction, 0 if none.
func (s *Store) CompactRevision() int64 { return s.hist.compactRev }

// HistoryLen returns the number of events retained since the last compaction.
func (s *Store) HistoryLen() int { return s.hist.retained(s.kv.rev) }

// Get returns the current value of key and whether it exists.
func (s *Store) Get(key string) (KeyValue, bool) { return s.kv.get(key) }

// Range calls fn for every key with the literal prefix, in key order, until fn
// returns false. fn must not write to the store.
func (s *Store) Range(prefix string, fn func(KeyValue) bool) {
	s.kv.ascend(prefix, func(e *entry) bool { return fn(*e.kv) })
}

// Count returns the number of keys with the literal prefix.
func (s *Store) Count(prefix string) int {
	n := 0
	s.kv.ascend(prefix, func(*entry) bool { n++; return true })
	return n
}

// Create writes a new key and returns it; ErrKeyExists if the key is present.
func (s *Store) Create(key string, value any) (KeyValue, error) {
	ev, err := s.kv.create(key, value)
	if err != nil {
		return KeyValue{}, err
	}
	s.commit(&ev)
	return ev.KV, nil
}

// Update replaces the value of an existing key if its mod revision equals
// expectedModRev (0 means unconditional) and returns the new KeyValue;
// ErrKeyNotFound or ErrConflict otherwise, with no revision consumed.
func (s *Store) Update(key string, value any, expectedModRev int64) (KeyValue, error) {
	ev, err := s.kv.update(key, value, expectedModRev)
	if err != nil {
		return KeyValue{}, err
	}
	s.commit(&ev)
	return ev.KV, nil
}

// Delete removes key if its mod revision equals expectedModRev (0 means
// unconditional); ErrKeyNotFound or ErrConflict otherwise. It returns the
// deleted key as the Delete event's tombstone: its last Value, CreateRevision
// and Version, with ModRevision set to the revision of the delete.
func (s *Store) Delete(key string, expectedModRev int64) (KeyValue, error) {
	ev, err := s.kv.delete(key, expectedModRev)
	if err != nil {
		return KeyValue{}, err
	}
	s.commit(&ev)
	return ev.KV, nil
}

// Compact drops the history before rev; the event at rev itself is kept, as in
// etcd. It returns ErrCompacted if rev <= CompactRevision() and
// ErrFutureRevision if rev > Rev(). Called from a watch callback, it takes
// effect at once for new watches, and the memory is released when delivery
// finishes.
func (s *Store) Compact(rev int64) error {
	if err := s.hist.compact(rev, s.kv.rev); err != nil {
		return err
	}
	if !s.delivering {
		s.hist.trim()
	}
	return nil
}

// Watch calls fn for every change to a key with the literal prefix.
//
// With fromRev 0 it reports only writes made after Watch is called. With
// fromRev r > 0 it first replays, synchronously and before returning, every
// retained event with revision >= r that matches the prefix, then reports
// later writes. Following etcd, r may equal CompactRevision() but not be
// below it (ErrCompacted), and may be at most Rev()+1 (ErrFutureRevision).
// A watcher registered from inside a callback does not receive the event in
// flight unless fromRev asks for it.
func (s *Store) Watch(prefix string, fromRev int64, fn func(Event)) (*Watcher, error) {
	if err := s.hist.checkWatchStart(prefix, fromRev, s.kv.rev); err != nil {
		return nil, err
	}
	s.nextWatcherID++
	w := &Watcher{s: s, id: s.nextWatcherID, prefix: prefix, fn: fn, next: s.kv.rev + 1}
	s.watchers.add(w)
	if fromRev == 0 || fromRev > s.kv.rev {
		return w, nil
	}
	w.next = fromRev
	if s.delivering {
		s.catchUp(w)
		return w, nil
	}
	s.delivering = true
	defer s.endDelivery()
	s.catchUp(w)
	s.drain()
	return w, nil
}

// Cancel unregisters the watcher; fn is not called again. It is safe to call
// more than once and from inside fn.
func (w *Watcher) Cancel() {
	if w.canceled {
		return
	}
	w.canceled = true
	w.s.watchers.remove(w)
}

// commit records a write's event and delivers it, unless a delivery further
// up the stack will pick it up from the history in revision order.
func (s *Store) commit(ev *Event) {
	s.hist.append(*ev)
	if s.delivering {
		return
	}
	if len(s.watchers.lens) == 0 {
		s.notified = s.kv.rev
		return
	}
	s.delivering = true
	defer s.endDelivery()
	s.drain()
}

func (s *Store) endDelivery() {
	s.delivering = false
	s.hist.trim()
}

// drain fans out, in revision order, every event not yet fanned out,
// including those that callbacks write meanwhile.
func (s *Store) drain() {
	for s.notified < s.kv.rev {
		s.notified++
		s.fanout(*s.hist.at(s.notified))
	}
}

// fanout offers ev to the watchers whose prefix matches its key, in
// registration order.
func (s *Store) fanout(ev Event) {
	key := ev.KV.Key
	var single []*Watcher
	s.scratch = s.scratch[:0]
	for _, l := range s.watchers.lens {
		if l > len(key) {
			break
		}
		ws, ok := s.watchers.byPrefix[key[:l]]
		if !ok {
			continue
		}
		switch {
		case single == nil && len(s.scratch) == 0:
			single = ws
		case single != nil:
			s.scratch = append(s.scratch, single...)
			single = nil
			fallthrough
		default:
			s.scratch = append(s.scratch, ws...)
		}
	}
	list := single
	if len(s.scratch) > 0 {
		slices.SortFunc(s.scratch, func(a, b *Watcher) int { return cmp.Compare(a.id, b.id) })
		list = s.scratch
	}
	for _, w := range list {
		s.offer(w, &ev)
	}
	clear(s.scratch) // drop references to canceled watchers
}

// catchUp replays the retained history from w.next to the current revision,
// including events that callbacks write while it runs.
func (s *Store) catchUp(w *Watcher) {
	for r := w.next; r <= s.kv.rev && !w.canceled; r++ {
		ev := s.hist.at(r)
		if strings.HasPrefix(ev.KV.Key, w.prefix) {
			s.offer(w, ev)
		}
	}
	w.next = max(w.next, s.kv.rev+1)
}

// offer calls w's callback unless w is canceled or has already seen ev.
func (s *Store) offer(w *Watcher, ev *Event) {
	rev := ev.KV.ModRevision
	if w.canceled || rev < w.next {
		return
	}
	w.next = rev + 1
	w.fn(*ev)
}

func (x *watcherIndex) add(w *Watcher) {
	ws, ok := x.byPrefix[w.prefix]
	if !ok {
		l := len(w.prefix)
		i := sort.SearchInts(x.lens, l)
		if i < len(x.lens) && x.lens[i] == l {
			x.lenRefs[i]++
		} else {
			x.lens = slices.Insert(x.lens, i, l)
			x.lenRefs = slices.Insert(x.lenRefs, i, 1)
		}
	}
	x.byPrefix[w.prefix] = append(ws, w)
}

func (x *watcherIndex) remove(w *Watcher) {
	ws := x.byPrefix[w.prefix]
	i := slices.Index(ws, w)
	if i < 0 {
		return
	}
	if len(ws) > 1 {
		// Copy rather than edit in place: a fan-out may be iterating ws.
		x.byPrefix[w.prefix] = slices.Concat(ws[:i], ws[i+1:])
		return
	}
	delete(x.byPrefix, w.prefix)
	j := sort.SearchInts(x.lens, len(w.prefix))
	x.lenRefs[j]--
	if x.lenRefs[j] == 0 {
		x.lens = slices.Delete(x.lens, j, j+1)
		x.lenRefs = slices.Delete(x.lenRefs, j, j+1)
	}
}
