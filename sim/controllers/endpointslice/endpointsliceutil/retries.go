package endpointsliceutil

import "time"

// Retries is a controller's retry budget per key, as client-go's item exponential failure
// rate limiter with a controller's maxRetries: the n-th consecutive failure of a key waits
// base·2ⁿ⁻¹ (capped at max), and a key that failed budget times in a row is dropped until
// an event queues it again.
type Retries struct {
	base, max time.Duration
	budget    int
	failures  map[string]int
}

// NewRetries returns a retry budget.
func NewRetries(base, max time.Duration, budget int) *Retries {
	return &Retries{base: base, max: max, budget: budget, failures: map[string]int{}}
}

// Failed records a failure of key and returns how long to wait before retrying it, or false
// when the budget is spent (the key's count is then forgotten).
func (r *Retries) Failed(key string) (time.Duration, bool) {
	n := r.failures[key]
	if n >= r.budget {
		delete(r.failures, key)
		return 0, false
	}
	r.failures[key] = n + 1
	d := r.base << uint(min(n, 62))
	if d > r.max || d <= 0 {
		d = r.max
	}
	return d, true
}

// Forget clears key's failures after a successful sync.
func (r *Retries) Forget(key string) { delete(r.failures, key) }
