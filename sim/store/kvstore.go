package store

import (
	"fmt"
	"strings"

	"github.com/google/btree"
)

// btreeDegree is the B-tree's minimum degree; 32 keeps nodes a few cache
// lines wide, as etcd's index does.
const btreeDegree = 32

// entry is one live key. The B-tree and the map share the same *entry, so an
// update swaps kv in place without touching the tree.
type entry struct {
	key string
	kv  *KeyValue // immutable once published; replaced, never modified
}

func entryLess(a, b *entry) bool { return a.key < b.key }

// kvStore is the revisioned key space without watchers: an ordered index for
// prefix ranges, a map for O(1) point lookups, and the global revision. Each
// write returns the Event it produced; recording and delivering that event is
// the watchable layer's job.
type kvStore struct {
	tree *btree.BTreeG[*entry]
	keys map[string]*entry
	rev  int64 // revision of the last successful write; 0 when nothing was written

	ranging int // Range calls in progress; writes during one would corrupt the iteration
}

func newKVStore() kvStore {
	return kvStore{
		tree: btree.NewG(btreeDegree, entryLess),
		keys: make(map[string]*entry),
	}
}

func (s *kvStore) get(key string) (KeyValue, bool) {
	e, ok := s.keys[key]
	if !ok {
		return KeyValue{}, false
	}
	return *e.kv, true
}

// ascend calls fn for each entry whose key has the literal prefix, in key
// order, until fn returns false. It costs O(log n + matches).
func (s *kvStore) ascend(prefix string, fn func(*entry) bool) {
	s.ranging++
	defer func() { s.ranging-- }()
	visit := func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		return fn(e)
	}
	if prefix == "" {
		s.tree.Ascend(visit)
		return
	}
	s.tree.AscendGreaterOrEqual(&entry{key: prefix}, visit)
}

func (s *kvStore) checkWritable(op, key string) {
	if s.ranging > 0 {
		panic(fmt.Sprintf("store: %s %q inside a Range callback", op, key))
	}
}

func (s *kvStore) create(key string, value any) (Event, error) {
	s.checkWritable("create", key)
	if _, ok := s.keys[key]; ok {
		return Event{}, fmt.Errorf("store: create %q: %w", key, ErrKeyExists)
	}
	s.rev++
	kv := &KeyValue{Key: key, Value: value, CreateRevision: s.rev, ModRevision: s.rev, Version: 1}
	e := &entry{key: key, kv: kv}
	s.keys[key] = e
	s.tree.ReplaceOrInsert(e)
	return Event{Type: Put, KV: *kv}, nil
}

// lookupCAS finds key and checks expectedModRev against it (0 means
// unconditional). It never changes the store.
func (s *kvStore) lookupCAS(op, key string, expectedModRev int64) (*entry, error) {
	e, ok := s.keys[key]
	if !ok {
		return nil, fmt.Errorf("store: %s %q: %w", op, key, ErrKeyNotFound)
	}
	if expectedModRev != 0 && expectedModRev != e.kv.ModRevision {
		return nil, fmt.Errorf("store: %s %q: %w: expected mod revision %d, actual %d",
			op, key, ErrConflict, expectedModRev, e.kv.ModRevision)
	}
	return e, nil
}

func (s *kvStore) update(key string, value any, expectedModRev int64) (Event, error) {
	s.checkWritable("update", key)
	e, err := s.lookupCAS("update", key, expectedModRev)
	if err != nil {
		return Event{}, err
	}
	s.rev++
	prev := e.kv
	kv := &KeyValue{
		Key:            key,
		Value:          value,
		CreateRevision: prev.CreateRevision,
		ModRevision:    s.rev,
		Version:        prev.Version + 1,
	}
	e.kv = kv
	return Event{Type: Put, KV: *kv, PrevKV: prev}, nil
}

func (s *kvStore) delete(key string, expectedModRev int64) (Event, error) {
	s.checkWritable("delete", key)
	e, err := s.lookupCAS("delete", key, expectedModRev)
	if err != nil {
		return Event{}, err
	}
	s.rev++
	delete(s.keys, key)
	s.tree.Delete(e)
	prev := e.kv
	tomb := *prev
	tomb.ModRevision = s.rev
	return Event{Type: Delete, KV: tomb, PrevKV: prev}, nil
}
