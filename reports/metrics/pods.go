package metrics

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// podState is what the collector keeps of a pod between its updates.
type podState struct {
	uid types.UID
	req []int64
	// ds marks a DaemonSet's pod.
	ds  bool
	cur contrib
	// restarts is the sum of the containers' restartCount last seen.
	restarts int32
	// started is set once the pod's startup latency is taken.
	started bool
	// unschedulable is set once the pod was seen unschedulable or nominated (preemption).
	unschedulable bool
	// pullFirst and pullLast are when the kubelet first started and last finished pulling
	// an image for the pod before it started (zero if it pulled none).
	pullFirst, pullLast time.Time
	// reasonOf caches the reason of the last PodScheduled message parsed.
	reasonMsg, reason string
}

// contrib is what a pod adds to the sampled quantities.
type contrib struct {
	// node is the node the pod is bound to while it is not terminal.
	node string
	// pending: phase Pending.
	pending bool
	// reason is the first reason it is unschedulable for, while not bound.
	reason string
	// queued: not bound, not terminal, not being deleted, no scheduling gates.
	queued bool
}

// shape is a pod's CPU (millicores) and memory requests, for fragmentation.
type shape struct{ cpu, mem int64 }

func key(ns, name string) string { return ns + "/" + name }

func (col *Collector) onPodAdd(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	ps := &podState{uid: p.UID, req: col.res.podRequests(p)}
	for _, ref := range p.OwnerReferences {
		if ref.Controller != nil && *ref.Controller && ref.Kind == "DaemonSet" {
			ps.ds = true
		}
	}
	if !ps.ds {
		col.cpuMedian.add(ps.req[rCPU])
		col.memMedian.add(ps.req[rMemory])
	}
	col.pods[key(p.Namespace, p.Name)] = ps
	col.namespaces[p.Namespace]++
	col.update(ps, p)
}

func (col *Collector) onPodUpdate(_, cur runtime.Object) {
	p := cur.(*corev1.Pod)
	ps := col.pods[key(p.Namespace, p.Name)]
	if ps == nil || ps.uid != p.UID {
		if ps != nil {
			col.onPodDelete(cur)
		}
		col.onPodAdd(cur)
		return
	}
	col.update(ps, p)
}

func (col *Collector) onPodDelete(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	k := key(p.Namespace, p.Name)
	ps := col.pods[k]
	if ps == nil {
		return
	}
	col.apply(ps, ps.cur, -1)
	delete(col.pods, k)
	if col.namespaces[p.Namespace]--; col.namespaces[p.Namespace] == 0 {
		delete(col.namespaces, p.Namespace)
	}
}

// update brings the collector's view of a pod up to date.
func (col *Collector) update(ps *podState, p *corev1.Pod) {
	if c := col.contribOf(ps, p); c != ps.cur {
		col.apply(ps, ps.cur, -1)
		col.apply(ps, c, 1)
		ps.cur = c
	}
	var restarts int32
	for _, cs := range p.Status.InitContainerStatuses {
		restarts += cs.RestartCount
	}
	for _, cs := range p.Status.ContainerStatuses {
		restarts += cs.RestartCount
	}
	if restarts > ps.restarts {
		col.counts.Restarts += int(restarts - ps.restarts)
	}
	ps.restarts = restarts
	if ps.cur.reason != "" || p.Status.NominatedNodeName != "" {
		ps.unschedulable = true
	}
	col.observeStartup(ps, p)
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func (col *Collector) contribOf(ps *podState, p *corev1.Pod) contrib {
	var c contrib
	c.pending = p.Status.Phase == corev1.PodPending || p.Status.Phase == ""
	if terminal(p) {
		return c
	}
	if p.Spec.NodeName != "" {
		c.node = p.Spec.NodeName
		return c
	}
	c.queued = p.DeletionTimestamp == nil && len(p.Spec.SchedulingGates) == 0
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			if cond.Message != ps.reasonMsg || ps.reason == "" {
				ps.reasonMsg, ps.reason = cond.Message, FirstReason(cond.Message)
			}
			c.reason = ps.reason
		}
	}
	return c
}

// apply adds (sign 1) or removes (sign -1) a pod's contribution.
func (col *Collector) apply(ps *podState, c contrib, sign int) {
	if c.pending {
		col.pending += sign
	}
	if c.reason != "" {
		if col.unschedulable[c.reason] += sign; col.unschedulable[c.reason] == 0 {
			delete(col.unschedulable, c.reason)
		}
	}
	if c.queued {
		s := shape{ps.req[rCPU], ps.req[rMemory]}
		if col.queued[s] += sign; col.queued[s] == 0 {
			delete(col.queued, s)
		}
	}
	if c.node != "" {
		ns := col.node(c.node)
		add(&ns.req, ps.req, int64(sign))
		if !ps.ds {
			ns.nonDS += sign
		}
		col.dropNode(c.node)
	}
}

// FirstReason returns the first reason of a FailedScheduling message without its node
// count: "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint
// {x: }. preemption: ..." gives "Insufficient cpu". A message of another form is returned
// as it is, without a final period.
func FirstReason(msg string) string {
	s := msg
	if i := strings.Index(s, " are available: "); i >= 0 {
		s = s[i+len(" are available: "):]
		if j := strings.Index(s, ". preemption:"); j >= 0 {
			s = s[:j]
		}
		if j := strings.Index(s, ", "); j >= 0 {
			s = s[:j]
		}
		if j := strings.IndexByte(s, ' '); j > 0 && strings.Trim(s[:j], "0123456789") == "" {
			s = s[j+1:]
		}
	}
	return strings.TrimSuffix(s, ".")
}

// observeStartup takes a pod's startup latency the first time it is seen with every
// container started (as the kubelet's pod startup latency tracker does, through a watch).
func (col *Collector) observeStartup(ps *podState, p *corev1.Pod) {
	if ps.started || terminal(p) || !allStarted(p) {
		return
	}
	ps.started = true
	e2e := col.c.Loop.Now().Sub(p.CreationTimestamp.Time)
	col.startupE2E = append(col.startupE2E, e2e)
	if ps.unschedulable || !stateless(p) {
		return
	}
	var initFirst, initLast time.Time
	for _, cs := range p.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && !t.StartedAt.IsZero() {
			if initFirst.IsZero() || t.StartedAt.Time.Before(initFirst) {
				initFirst = t.StartedAt.Time
			}
			if t.FinishedAt.Time.After(initLast) {
				initLast = t.FinishedAt.Time
			}
		}
	}
	col.startup = append(col.startup, e2e-union(ps.pullFirst, ps.pullLast, initFirst, initLast))
}

// allStarted reports whether every container of the pod has been reported running.
func allStarted(p *corev1.Pod) bool {
	if len(p.Spec.Containers) == 0 || len(p.Status.ContainerStatuses) < len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil || cs.State.Running.StartedAt.IsZero() {
			return false
		}
	}
	return true
}

// stateless reports whether a pod mounts only secrets, config maps, the downward API,
// projected volumes and emptyDir (sig-scalability's stateless pod).
func stateless(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.Secret == nil && v.ConfigMap == nil && v.DownwardAPI == nil && v.EmptyDir == nil && v.Projected == nil {
			return false
		}
	}
	return true
}

// union returns the length of the union of the intervals [a1, b1] and [a2, b2]; an
// interval with a zero end or an end before its start is empty.
func union(a1, b1, a2, b2 time.Time) time.Duration {
	e1 := b1.IsZero() || b1.Before(a1)
	e2 := b2.IsZero() || b2.Before(a2)
	switch {
	case e1 && e2:
		return 0
	case e1:
		return b2.Sub(a2)
	case e2:
		return b1.Sub(a1)
	case a2.After(b1) || a1.After(b2):
		return b1.Sub(a1) + b2.Sub(a2)
	}
	lo, hi := a1, b1
	if a2.Before(lo) {
		lo = a2
	}
	if b2.After(hi) {
		hi = b2
	}
	return hi.Sub(lo)
}
