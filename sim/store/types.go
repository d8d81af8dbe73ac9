package store

import (
	"errors"
	"strconv"
)

// KeyValue is one key's value with its revisions, as etcd's mvccpb.KeyValue.
type KeyValue struct {
	// Key is the full key, such as "/registry/pods/default/web-abc".
	Key string
	// Value is the opaque, immutable value stored under Key.
	Value any
	// CreateRevision is the revision of the write that created the key.
	CreateRevision int64
	// ModRevision is the revision of the last write to the key.
	ModRevision int64
	// Version counts the writes to the key since its creation (1 on create).
	Version int64
}

// EventType says whether an Event put a value or deleted a key.
type EventType int

const (
	// Put is a create or an update of a key.
	Put EventType = iota
	// Delete is the removal of a key.
	Delete
)

// String returns "PUT" or "DELETE", as etcd prints event types.
func (t EventType) String() string {
	switch t {
	case Put:
		return "PUT"
	case Delete:
		return "DELETE"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one change to one key; watchers receive events in revision order.
//
// For a Put, KV is the key as written. For a Delete, KV is a tombstone: the
// deleted key's Key, last Value, CreateRevision and Version, with ModRevision
// set to the revision of the delete (etcd's tombstone carries only Key and
// ModRevision; the rest is kept here for convenience). PrevKV is the key as it
// was before the change, nil on create; it is shared with the history and
// with other watchers and must not be modified.
type Event struct {
	// Type is Put or Delete.
	Type EventType
	// KV is the key after the change (a tombstone for Delete).
	KV KeyValue
	// PrevKV is the key before the change, or nil if the change created it.
	PrevKV *KeyValue
}

// Revision returns the revision of the write that produced the event.
func (e Event) Revision() int64 { return e.KV.ModRevision }

// Sentinel errors; the store wraps them with the key and the revisions
// involved, so test them with errors.Is.
var (
	// ErrKeyExists means Create found the key already present.
	ErrKeyExists = errors.New("key already exists")
	// ErrKeyNotFound means Update or Delete found no such key.
	ErrKeyNotFound = errors.New("key not found")
	// ErrConflict means a compare-and-swap saw a different mod revision than expected.
	ErrConflict = errors.New("mod revision conflict")
	// ErrCompacted means the requested revision has been compacted away.
	ErrCompacted = errors.New("required revision has been compacted")
	// ErrFutureRevision means the requested revision is beyond the store's current revision.
	ErrFutureRevision = errors.New("required revision is a future revision")
)
