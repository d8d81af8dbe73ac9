package daemonset

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

// StatusUpdateRetries is how many times a conflicting status update is retried on a fresh
// copy within one sync, as upstream's.
const StatusUpdateRetries = 1

// computeStatus counts, over the nodes, the DaemonSet's desired, scheduled, misscheduled,
// ready, available and updated pods, judging each node by its oldest daemon pod, as
// upstream's updateDaemonSetStatus.
func (c *Controller) computeStatus(s *state) appsv1.DaemonSetStatus {
	ds := s.ds
	now := c.clock.Now()
	var st appsv1.DaemonSetStatus
	for i, node := range s.nodes {
		pods := s.byNode[node.Name]
		if !s.run[i] {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sortByCreation(pods)
		p := pods[0]
		if isPodReady(p) {
			st.NumberReady++
			if controllers.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if isPodUpdated(p, s.hash, s.gen) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}

// updateStatus writes the counts (and observedGeneration when the sync acted on this
// generation) if they changed, and requeues after minReadySeconds while ready pods are not
// yet available.
func (c *Controller) updateStatus(s *state, observed bool) error {
	ds := s.ds
	st := c.computeStatus(s)
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		c.queue.AddAfter(informer.Key(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	cur := ds.Status
	if cur.DesiredNumberScheduled == st.DesiredNumberScheduled && cur.CurrentNumberScheduled == st.CurrentNumberScheduled &&
		cur.NumberMisscheduled == st.NumberMisscheduled && cur.NumberReady == st.NumberReady &&
		cur.UpdatedNumberScheduled == st.UpdatedNumberScheduled && cur.NumberAvailable == st.NumberAvailable &&
		cur.NumberUnavailable == st.NumberUnavailable && cur.ObservedGeneration >= ds.Generation {
		return nil
	}
	next := ds.DeepCopy()
	for i := 0; ; i++ {
		if observed {
			next.Status.ObservedGeneration = ds.Generation
		}
		next.Status.DesiredNumberScheduled = st.DesiredNumberScheduled
		next.Status.CurrentNumberScheduled = st.CurrentNumberScheduled
		next.Status.NumberMisscheduled = st.NumberMisscheduled
		next.Status.NumberReady = st.NumberReady
		next.Status.UpdatedNumberScheduled = st.UpdatedNumberScheduled
		next.Status.NumberAvailable = st.NumberAvailable
		next.Status.NumberUnavailable = st.NumberUnavailable
		_, err := c.client.UpdateStatus(next)
		if err == nil {
			return nil
		}
		if i >= StatusUpdateRetries {
			return fmt.Errorf("update status of DaemonSet %s/%s: %w", ds.Namespace, ds.Name, err)
		}
		fresh, gerr := c.client.Get("daemonsets", ds.Namespace, ds.Name)
		if gerr != nil {
			return fmt.Errorf("get DaemonSet %s/%s: %w", ds.Namespace, ds.Name, gerr)
		}
		next = fresh.(*appsv1.DaemonSet).DeepCopy()
	}
}
