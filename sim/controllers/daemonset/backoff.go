package daemonset

import "time"

// backoff is client-go's flowcontrol.Backoff without jitter, as the DaemonSet controller
// uses it for failed daemon pods: per key, a delay that starts at initial and doubles at
// each Next up to max, forgotten once nothing happened for twice max.
type backoff struct {
	initial, max time.Duration
	entries      map[string]*backoffEntry
}

type backoffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

func newBackoff(initial, max time.Duration) *backoff {
	return &backoff{initial: initial, max: max, entries: map[string]*backoffEntry{}}
}

func (b *backoff) expired(e *backoffEntry, now time.Time) bool {
	return now.Sub(e.lastUpdate) > 2*b.max
}

// next records an event of key at now: the delay starts at initial, or doubles.
func (b *backoff) next(key string, now time.Time) {
	e, ok := b.entries[key]
	if !ok || b.expired(e, now) {
		e = &backoffEntry{delay: b.initial}
		b.entries[key] = e
	} else {
		e.delay = min(2*e.delay, b.max)
	}
	e.lastUpdate = now
}

// inBackoff reports whether less than the key's delay has passed since its last event.
func (b *backoff) inBackoff(key string, now time.Time) bool {
	e, ok := b.entries[key]
	if !ok || b.expired(e, now) {
		return false
	}
	return now.Sub(e.lastUpdate) < e.delay
}

// get returns the key's current delay (0 if none).
func (b *backoff) get(key string) time.Duration {
	if e, ok := b.entries[key]; ok {
		return e.delay
	}
	return 0
}

// gc forgets the keys whose entries have expired, as upstream does every minute.
func (b *backoff) gc(now time.Time) {
	for k, e := range b.entries {
		if b.expired(e, now) {
			delete(b.entries, k)
		}
	}
}
