// Package wallclock paces Orrery's event loop by the wall clock, for real mode: callbacks
// run when the wall clock reaches their virtual time, and events from outside the loop
// (containerd task exits, probe answers) enter through one thread-safe entry point, Post.
//
// The loop stays single-threaded: only the goroutine inside Run touches it. Other
// goroutines (real mode's containerd calls) hand their results to Post, which queues them
// to run on the loop at the virtual time they arrive.
package wallclock

import (
	"context"
	"sync"
	"time"

	"github.com/orrery-sim/orrery/sim/loop"
)

// Pacer runs a loop by the wall clock: one second of virtual time is one second of wall
// time, from the moment Run starts.
type Pacer struct {
	loop *loop.Loop
	mu   sync.Mutex
	// posts are the callbacks Post queued for the loop.
	posts []func()
	wake  chan struct{}
	// base is the wall time at which the loop's time was baseVirtual.
	base, baseVirtual time.Time
	running           bool
	maxLag            time.Duration
	posted            uint64
}

// New returns a pacer of l.
func New(l *loop.Loop) *Pacer {
	return &Pacer{loop: l, wake: make(chan struct{}, 1), base: time.Now(), baseVirtual: l.Now()}
}

// Loop returns the paced loop.
func (p *Pacer) Loop() *loop.Loop { return p.loop }

// Post queues fn to run on the loop at the virtual time it arrives, after the callbacks
// due by then; it may be called from any goroutine and never blocks. Callbacks posted
// while Run is not running wait for the next Run.
func (p *Pacer) Post(fn func()) {
	p.mu.Lock()
	p.posts = append(p.posts, fn)
	p.posted++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Posted returns how many callbacks were posted so far.
func (p *Pacer) Posted() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posted
}

// Virtual maps a wall-clock instant to the loop's time, as paced by the current or last
// Run.
func (p *Pacer) Virtual(t time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.baseVirtual.Add(t.Sub(p.base))
}

// MaxLag returns the longest the loop fell behind the wall clock: how late, at most, a
// callback ran after its virtual time had come.
func (p *Pacer) MaxLag() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxLag
}

// take removes and returns the posted callbacks.
func (p *Pacer) take() []func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.posts
	p.posts = nil
	return out
}

// Run runs the loop by the wall clock until its time reaches until, done reports true
// (asked after every batch of callbacks; nil never does) or ctx ends (its error is
// returned). Virtual time resumes where the loop stands: the wall time between two Runs
// does not count.
func (p *Pacer) Run(ctx context.Context, until time.Time, done func() bool) error {
	p.mu.Lock()
	p.base, p.baseVirtual, p.running = time.Now(), p.loop.Now(), true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := p.Virtual(time.Now())
		if now.After(until) {
			now = until
		}
		if next, ok := p.loop.Next(); ok && !next.After(now) {
			p.noteLag(now.Sub(next))
		}
		p.loop.RunUntil(now)
		for _, fn := range p.take() {
			p.loop.At(p.loop.Now(), fn)
		}
		p.loop.RunUntil(now)
		if done != nil && done() {
			return nil
		}
		if !p.loop.Now().Before(until) {
			return nil
		}
		wait := until.Sub(now)
		if next, ok := p.loop.Next(); ok && next.Sub(now) < wait {
			wait = next.Sub(now)
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake: // the next Reset discards the pending timer (Go 1.23 timers)
		case <-timer.C:
		}
	}
}

// RunFor runs the loop by the wall clock for d from its current time (see Run).
func (p *Pacer) RunFor(ctx context.Context, d time.Duration, done func() bool) error {
	return p.Run(ctx, p.loop.Now().Add(d), done)
}

func (p *Pacer) noteLag(d time.Duration) {
	p.mu.Lock()
	if d > p.maxLag {
		p.maxLag = d
	}
	p.mu.Unlock()
}
