// Package store is Orrery's etcd: a revisioned key-value store with
// compare-and-swap, prefix listing, watches that start from a past revision,
// and compaction of the event history.
//
// It keeps the shape of etcd's server/storage/mvcc in three layers, each a file
// that reads alone:
//
//   - kvstore.go: the keys and their revisions. Every successful write bumps
//     one global revision by 1; each key carries the revision that created it,
//     the revision of its last write and a per-key version.
//   - history.go: the append-only log of events since the last compaction.
//   - watchable_store.go: Store, which ties the two together and fans each
//     event out to the watchers whose prefix matches the key.
//
// Prefixes are literal byte prefixes, as in etcd: "/registry/pods" matches
// "/registry/podsecurity/x", "/registry/pods/" does not. Callers that mean a
// directory end the prefix with '/'.
//
// The store is built for a single-threaded discrete-event simulation: it has no
// goroutines and no locks, and it must not be used from more than one goroutine
// at a time. Watch callbacks run synchronously inside the write that caused
// them, so everything that happens is a pure function of the calls made.
//
// Values are opaque and immutable by contract: the store never copies or
// inspects them, and callers must not modify a value after handing it to the
// store, nor one they read back from it.
package store
