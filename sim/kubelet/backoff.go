package kubelet

import "time"

// Restart and sync timings, as upstream's kubelet.
const (
	// DefaultBackOffInitial is the first CrashLoopBackOff (and ImagePullBackOff) delay.
	DefaultBackOffInitial = 10 * time.Second
	// DefaultBackOffMax caps the doubling delay; a container that ran for twice this long
	// since its last restart starts again from DefaultBackOffInitial.
	DefaultBackOffMax = 5 * time.Minute
	// DefaultPodSyncRetry is how soon a pod whose sync failed is synced again (upstream's
	// pod worker back-off period, without its jitter).
	DefaultPodSyncRetry = 10 * time.Second
)

// backOff is client-go's flowcontrol.Backoff as the kubelet uses it: per key, a delay that
// starts at initial and doubles up to max on each Next; an entry not updated for 2*max
// starts over.
type backOff struct {
	initial, max time.Duration
	entries      map[string]*backOffEntry
}

type backOffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

func newBackOff(initial, max time.Duration) *backOff {
	return &backOff{initial: initial, max: max, entries: map[string]*backOffEntry{}}
}

func (b *backOff) expired(e *backOffEntry, at time.Time) bool {
	return at.Sub(e.lastUpdate) > 2*b.max
}

// inBackOffSince reports whether now is within the current delay after eventTime.
func (b *backOff) inBackOffSince(key string, eventTime, now time.Time) bool {
	e := b.entries[key]
	if e == nil || b.expired(e, now) {
		return false
	}
	return now.Sub(eventTime) < e.delay
}

// get returns the key's current delay.
func (b *backOff) get(key string) time.Duration {
	if e := b.entries[key]; e != nil {
		return e.delay
	}
	return 0
}

// next moves the key to its next delay: initial for a new or expired entry (judged at
// eventTime), else double, capped at max.
func (b *backOff) next(key string, eventTime, now time.Time) {
	e := b.entries[key]
	if e == nil || b.expired(e, eventTime) {
		e = &backOffEntry{delay: b.initial}
		b.entries[key] = e
	} else {
		e.delay = min(2*e.delay, b.max)
	}
	e.lastUpdate = now
}

// forget drops every entry of a pod (keys start with its UID).
func (b *backOff) forget(prefix string) {
	for k := range b.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.entries, k)
		}
	}
}
