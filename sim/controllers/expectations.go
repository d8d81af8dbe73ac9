package controllers

import (
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

// ExpectationsTimeout is how long a controller waits to observe its own creates and
// deletes before it stops trusting its expectations, as upstream's.
const ExpectationsTimeout = 5 * time.Minute

// Expectations count, per controller key, the creates and deletes a controller has made and
// not yet seen come back through its informer, as upstream's ControllerExpectations: a
// sync waits until they are all observed (or have timed out), so the controller never
// acts twice on a stale cache.
type Expectations struct {
	clock   loop.Clock
	timeout time.Duration
	m       map[string]*expectation
}

type expectation struct {
	add, del int
	at       time.Time
}

// NewExpectations returns empty expectations timing out after timeout (0:
// ExpectationsTimeout).
func NewExpectations(clock loop.Clock, timeout time.Duration) *Expectations {
	if timeout <= 0 {
		timeout = ExpectationsTimeout
	}
	return &Expectations{clock: clock, timeout: timeout, m: map[string]*expectation{}}
}

// Expect replaces key's expectations with add creates and del deletes, from now.
func (e *Expectations) Expect(key string, add, del int) {
	e.m[key] = &expectation{add: add, del: del, at: e.clock.Now()}
}

// Lower takes add creates and del deletes off key's expectations: observed, or never made
// (a failed request).
func (e *Expectations) Lower(key string, add, del int) {
	if x := e.m[key]; x != nil {
		x.add -= add
		x.del -= del
	}
}

// CreationObserved records that one expected create of key was seen.
func (e *Expectations) CreationObserved(key string) { e.Lower(key, 1, 0) }

// DeletionObserved records that one expected delete of key was seen.
func (e *Expectations) DeletionObserved(key string) { e.Lower(key, 0, 1) }

// Satisfied reports whether key has nothing outstanding (or its expectations expired).
func (e *Expectations) Satisfied(key string) bool {
	x := e.m[key]
	return x == nil || (x.add <= 0 && x.del <= 0) || e.clock.Now().Sub(x.at) > e.timeout
}

// Delete forgets key (its object is gone).
func (e *Expectations) Delete(key string) { delete(e.m, key) }
