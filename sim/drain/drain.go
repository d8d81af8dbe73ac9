// Package drain is `kubectl drain NODE` as an actor in virtual time: it cordons the node,
// picks the pods to evict with kubectl's filters (DaemonSet, mirror, emptyDir and
// unmanaged pods), evicts them all through the Eviction API — a pod whose budget answers
// 429 is tried again every 5 s — and waits until every evicted pod is gone.
package drain

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// kubectl drain's timings.
const (
	// EvictionRetryInterval is how long kubectl waits before evicting a pod again after a
	// 429 (a disruption budget that allows nothing now).
	EvictionRetryInterval = 5 * time.Second
	// DeletePollInterval is how often kubectl checks whether an evicted pod is gone.
	DeletePollInterval = time.Second
	// DefaultActor is the identity actions are logged under when the client has none.
	DefaultActor = "kubectl"
)

// Options are kubectl drain's flags.
type Options struct {
	// Force evicts pods that declare no controller (--force).
	Force bool
	// IgnoreDaemonSets skips DaemonSet-managed pods instead of refusing (--ignore-daemonsets).
	IgnoreDaemonSets bool
	// DeleteEmptyDirData evicts pods with emptyDir volumes (--delete-emptydir-data).
	DeleteEmptyDirData bool
	// GracePeriodSeconds overrides the pods' grace period; nil keeps theirs (--grace-period=-1).
	GracePeriodSeconds *int64
	// Timeout gives up after this long; 0 waits for ever (--timeout).
	Timeout time.Duration
	// SkipWaitForDeleteTimeout skips pods deleted longer ago than this; 0 never skips
	// (--skip-wait-for-delete-timeout).
	SkipWaitForDeleteTimeout time.Duration
	// PodSelector limits the drain to matching pods (--pod-selector); nil selects all.
	PodSelector labels.Selector
	// RetryInterval overrides EvictionRetryInterval when positive.
	RetryInterval time.Duration
	// PollInterval overrides DeletePollInterval when positive.
	PollInterval time.Duration
}

// Drain is one running drain of a node.
type Drain struct {
	clock    loop.Clock
	log      *eventlog.Log
	client   *apiserver.Client
	node     string
	opts     Options
	done     func(error)
	actor    string
	deadline time.Time // zero: none
	pending  int
	errs     []error
	finished bool
	err      error
	timers   map[*loop.Timer]struct{}
}

// Start begins draining node now (in a loop callback) and calls done once with nil when
// every evicted pod is gone, or with the error that stopped the drain. The node stays
// cordoned either way, as with kubectl.
func Start(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, node string, opts Options, done func(error)) *Drain {
	d := &Drain{clock: clock, log: log, client: client, node: node, opts: opts, done: done, actor: DefaultActor, timers: map[*loop.Timer]struct{}{}}
	if u, err := client.User(); err == nil {
		d.actor = u.Name
	}
	if d.opts.RetryInterval <= 0 {
		d.opts.RetryInterval = EvictionRetryInterval
	}
	if d.opts.PollInterval <= 0 {
		d.opts.PollInterval = DeletePollInterval
	}
	d.after(0, d.run)
	return d
}

// Done reports whether the drain has finished.
func (d *Drain) Done() bool { return d.finished }

// Err returns the error the drain finished with (nil while running or on success).
func (d *Drain) Err() error { return d.err }

// Stop abandons the drain: nothing more is evicted and done is not called.
func (d *Drain) Stop() {
	for t := range d.timers {
		t.Stop()
	}
	d.timers = map[*loop.Timer]struct{}{}
	d.finished = true
}

func (d *Drain) after(dur time.Duration, fn func()) {
	var t *loop.Timer
	t = d.clock.After(dur, func() {
		delete(d.timers, t)
		fn()
	})
	d.timers[t] = struct{}{}
}

func (d *Drain) action(reason, ns, name, msg string) {
	if d.log != nil {
		resource := "pods"
		if ns == "" {
			resource = "nodes"
		}
		d.log.Action(d.actor, reason, resource, ns, name, msg)
	}
}

func (d *Drain) run() {
	changed, err := Cordon(d.client, d.node)
	if err != nil {
		d.finish(err)
		return
	}
	if changed {
		d.action("NodeCordoned", "", d.node, fmt.Sprintf("node/%s cordoned", d.node))
	} else {
		d.action("NodeCordoned", "", d.node, fmt.Sprintf("node/%s already cordoned", d.node))
	}
	pods, err := d.podsToEvict()
	if err != nil {
		d.finish(err)
		return
	}
	if d.opts.Timeout > 0 {
		d.deadline = d.clock.Now().Add(d.opts.Timeout)
	}
	d.pending = len(pods)
	if d.pending == 0 {
		d.finish(nil)
		return
	}
	for _, p := range pods {
		e := &evictor{d: d, pod: p}
		e.attempt()
	}
}

// podsToEvict lists the node's pods and applies kubectl's filters: warnings are logged;
// any pod that blocks the drain fails it before anything is evicted.
func (d *Drain) podsToEvict() ([]*corev1.Pod, error) {
	res, err := d.client.List("pods", "", apiserver.Filter{NodeName: d.node, Labels: d.opts.PodSelector}, false)
	if err != nil {
		return nil, fmt.Errorf("list pods on node %s: %w", d.node, err)
	}
	var out []*corev1.Pod
	warnings, fatal := map[string][]string{}, map[string][]string{}
	for _, obj := range res.Items {
		p := obj.(*corev1.Pod)
		v := d.podVerdict(p)
		id := p.Namespace + "/" + p.Name
		if v.fatal != "" {
			fatal[v.fatal] = append(fatal[v.fatal], id)
		} else if v.warning != "" {
			warnings[v.warning] = append(warnings[v.warning], id)
		}
		if v.evict {
			out = append(out, p)
		}
	}
	if len(fatal) > 0 {
		var errs []error
		for _, msg := range grouped(fatal, "cannot delete") {
			errs = append(errs, fmt.Errorf("%s", msg))
		}
		return nil, utilerrors.NewAggregate(errs)
	}
	for _, msg := range grouped(warnings, "") {
		d.action("DrainWarning", "", d.node, "Warning: "+msg)
	}
	return out, nil
}

// podDone ends one pod's eviction; the drain finishes with the last.
func (d *Drain) podDone(err error) {
	if d.finished {
		return
	}
	if err != nil {
		d.errs = append(d.errs, err)
	}
	d.pending--
	if d.pending == 0 {
		d.finish(utilerrors.NewAggregate(d.errs))
	}
}

func (d *Drain) finish(err error) {
	if d.finished {
		return
	}
	d.finished = true
	d.err = err
	if err != nil {
		d.action("DrainFailed", "", d.node, fmt.Sprintf("unable to drain node %q due to error: %v", d.node, err))
	} else {
		d.action("NodeDrained", "", d.node, fmt.Sprintf("node/%s drained", d.node))
	}
	if d.done != nil {
		d.done(err)
	}
}

func (d *Drain) timedOut() bool {
	return !d.deadline.IsZero() && !d.clock.Now().Before(d.deadline)
}

// evictor evicts one pod and waits for it to be gone, as one of kubectl's goroutines.
type evictor struct {
	d       *Drain
	pod     *corev1.Pod
	refresh bool
}

func (e *evictor) attempt() {
	d, p := e.d, e.pod
	if d.finished {
		return
	}
	if d.timedOut() {
		d.podDone(fmt.Errorf("error when evicting pods/%q -n %q: global timeout reached: %v", p.Name, p.Namespace, d.opts.Timeout))
		return
	}
	if e.refresh {
		obj, err := d.client.Get("pods", p.Namespace, p.Name)
		if apierrors.IsNotFound(err) {
			d.podDone(nil) // gone already
			return
		}
		if err != nil {
			d.podDone(fmt.Errorf("error when evicting pods/%q -n %q: %w", p.Name, p.Namespace, err))
			return
		}
		p = obj.(*corev1.Pod)
	}
	d.action("EvictingPod", p.Namespace, p.Name, fmt.Sprintf("evicting pod %s/%s", p.Namespace, p.Name))
	err := d.client.Evict(p.Namespace, p.Name, apiserver.DeleteOptions{GracePeriodSeconds: d.opts.GracePeriodSeconds})
	switch {
	case err == nil:
		e.poll()
	case apierrors.IsNotFound(err):
		d.podDone(nil)
	case apierrors.IsTooManyRequests(err):
		d.action("EvictionRetry", p.Namespace, p.Name, fmt.Sprintf("error when evicting pods/%q -n %q (will retry after %v): %v", p.Name, p.Namespace, d.opts.RetryInterval, err))
		e.refresh = true
		d.after(d.opts.RetryInterval, e.attempt)
	case apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		if p.DeletionTimestamp != nil {
			e.poll() // the eviction can never succeed; the pod goes with its namespace
			return
		}
		d.action("EvictionRetry", p.Namespace, p.Name, fmt.Sprintf("error when evicting pod %q from terminating namespace %q (will retry after %v): %v", p.Name, p.Namespace, d.opts.RetryInterval, err))
		e.refresh = true
		d.after(d.opts.RetryInterval, e.attempt)
	default:
		d.podDone(fmt.Errorf("error when evicting pods/%q -n %q: %w", p.Name, p.Namespace, err))
	}
}

// poll checks now, then every PollInterval, whether the evicted pod is gone (or replaced by
// another of the same name).
func (e *evictor) poll() {
	d, p := e.d, e.pod
	if d.finished {
		return
	}
	obj, err := d.client.Get("pods", p.Namespace, p.Name)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && obj.(*corev1.Pod).UID != p.UID):
		d.action("PodEvicted", p.Namespace, p.Name, fmt.Sprintf("pod/%s evicted", p.Name))
		d.podDone(nil)
	case err != nil:
		d.podDone(fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: %w", p.Name, p.Namespace, err))
	case d.shouldSkip(obj.(*corev1.Pod)):
		d.action("PodSkipped", p.Namespace, p.Name, fmt.Sprintf("pod %q has DeletionTimestamp older than %v seconds, skipping", p.Name, int(d.opts.SkipWaitForDeleteTimeout.Seconds())))
		d.podDone(nil)
	case d.timedOut():
		d.podDone(fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: global timeout reached: %v", p.Name, p.Namespace, d.opts.Timeout))
	default:
		d.after(d.opts.PollInterval, e.poll)
	}
}
