// Package eventlog records what happens in a run: every API write and every component
// action, in order, with its virtual time. The log is written as JSON lines and hashed; the
// hash is what a run's determinism is checked on.
package eventlog

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"time"
)

// Entry is one line of the event log.
type Entry struct {
	// Seq numbers entries from 1 in the order they happened.
	Seq uint64 `json:"seq"`
	// At is the virtual time since the start of the run.
	At time.Duration `json:"-"`
	// Time is At in the log's text form (e.g. "5m50s").
	Time string `json:"t"`
	// Actor is the identity that made the request or took the action.
	Actor string `json:"actor"`
	// Verb is the API verb (create, update, patch, delete, bind, ...) or "action".
	Verb string `json:"verb"`
	// Resource is the API resource, with its subresource after a slash (pods/status).
	Resource string `json:"resource,omitempty"`
	// Namespace and Name identify the object.
	Namespace string `json:"ns,omitempty"`
	Name      string `json:"name,omitempty"`
	// Revision is the store revision the write produced, 0 if it failed or wrote nothing.
	Revision int64 `json:"rev,omitempty"`
	// Code is the HTTP status code of an API request.
	Code int `json:"code,omitempty"`
	// Reason is the machine-readable reason of an action or a failed request (Scheduled,
	// NodeNotReady, Conflict, ...).
	Reason string `json:"reason,omitempty"`
	// Message is the human-readable detail.
	Message string `json:"msg,omitempty"`
}

// IsAction reports whether the entry is a component action rather than an API request.
func (e *Entry) IsAction() bool { return e.Verb == "action" }

// Log appends entries, hashes them and optionally writes them out.
type Log struct {
	clock    func() time.Duration
	seq      uint64
	hash     hash.Hash
	out      io.Writer
	err      error
	watchers []func(*Entry)
	buf      []byte
}

// New returns a log that stamps entries with the virtual time clock returns.
func New(clock func() time.Duration) *Log {
	return &Log{clock: clock, hash: sha256.New()}
}

// SetOutput makes the log copy every entry, as one JSON line, to w.
func (l *Log) SetOutput(w io.Writer) { l.out = w }

// Subscribe calls fn with every entry after it is appended; fn must not keep the pointer.
func (l *Log) Subscribe(fn func(*Entry)) { l.watchers = append(l.watchers, fn) }

// Append stamps e with the next sequence number and the current virtual time and records it.
func (l *Log) Append(e Entry) {
	l.seq++
	e.Seq = l.seq
	e.At = l.clock()
	e.Time = e.At.String()
	l.buf = append(appendJSON(l.buf[:0], &e), '\n')
	l.hash.Write(l.buf)
	if l.out != nil && l.err == nil {
		_, l.err = l.out.Write(l.buf)
	}
	for _, w := range l.watchers {
		w(&e)
	}
}

// Action records a component action.
func (l *Log) Action(actor, reason, resource, namespace, name, message string) {
	l.Append(Entry{Actor: actor, Verb: "action", Resource: resource, Namespace: namespace, Name: name, Reason: reason, Message: message})
}

// Len returns the number of entries appended.
func (l *Log) Len() uint64 { return l.seq }

// Hash returns the hex SHA-256 of the log's JSON lines so far.
func (l *Log) Hash() string { return hex.EncodeToString(l.hash.Sum(nil)) }

// Err returns the first error writing the log out, if any.
func (l *Log) Err() error { return l.err }
