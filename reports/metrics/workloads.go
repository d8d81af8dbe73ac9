package metrics

import (
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// faultState is a fault whose recovery may still be open.
type faultState struct {
	Fault
	at     time.Duration
	closed bool
}

// fault records a fault action; actions at the same instant as the previous fault (a
// zone outage's node crashes) belong to it.
func (col *Collector) fault(e *eventlog.Entry) {
	if n := len(col.faults); n > 0 && col.faults[n-1].at == e.At {
		return
	}
	obj := e.Name
	if e.Namespace != "" {
		obj = e.Namespace + "/" + e.Name
	}
	if e.Resource != "" {
		obj = strings.TrimSuffix(e.Resource, "s") + "/" + obj
	}
	f := &faultState{Fault: Fault{At: e.At.Seconds(), Kind: e.Reason, Object: obj}, at: e.At}
	f.Degraded = len(col.degraded) > 0
	col.faults = append(col.faults, f)
}

// setDegraded marks a workload as below (or back at) its desired available replicas; the
// cluster's workloads going from whole to degraded and back close the open faults.
func (col *Collector) setDegraded(k string, degraded bool) {
	was := len(col.degraded) > 0
	if degraded {
		col.degraded[k] = true
	} else {
		delete(col.degraded, k)
	}
	is := len(col.degraded) > 0
	if was == is {
		return
	}
	now := col.c.Loop.Elapsed()
	for _, f := range col.faults {
		switch {
		case f.closed:
		case is && !f.Degraded && now-f.at <= col.opts.DegradeWindow:
			f.Degraded = true
		case is && !f.Degraded:
			f.closed = true // nothing degraded within the window
		case !is && f.Degraded:
			f.Recovered, f.Recovery, f.closed = true, (now - f.at).Seconds(), true
		}
	}
}

func desired(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func (col *Collector) onDeployment(old, cur runtime.Object) {
	d := cur.(*appsv1.Deployment)
	k := key(d.Namespace, d.Name)
	col.setDegraded("deployment/"+k, d.Status.AvailableReplicas < desired(d))
	if old != nil {
		o := old.(*appsv1.Deployment)
		if o.Generation != d.Generation && !equality.Semantic.DeepEqual(o.Spec.Template, d.Spec.Template) {
			if _, ok := col.rollouts[k]; ok {
				col.endRollout(k, RolloutSuperseded)
			}
			col.rollouts[k] = col.c.Loop.Elapsed()
		}
	}
	if _, ok := col.rollouts[k]; !ok || d.Status.ObservedGeneration < d.Generation {
		return
	}
	st := d.Status
	switch {
	case st.UpdatedReplicas >= desired(d) && st.Replicas <= st.UpdatedReplicas && st.AvailableReplicas >= st.UpdatedReplicas:
		col.endRollout(k, RolloutComplete)
	case progressDeadlineExceeded(d):
		col.endRollout(k, RolloutFailed)
	}
}

// progressDeadlineExceeded reports the Progressing condition the controller sets when a
// rollout makes no progress for progressDeadlineSeconds.
func progressDeadlineExceeded(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

func (col *Collector) endRollout(k, outcome string) {
	at := col.rollouts[k]
	delete(col.rollouts, k)
	col.finished = append(col.finished, Rollout{Deployment: k, At: at.Seconds(), Outcome: outcome, Duration: (col.c.Loop.Elapsed() - at).Seconds()})
}

func (col *Collector) onDeploymentDelete(obj runtime.Object) {
	d := obj.(*appsv1.Deployment)
	k := key(d.Namespace, d.Name)
	col.setDegraded("deployment/"+k, false)
	delete(col.rollouts, k)
}

func (col *Collector) onDaemonSet(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	col.setDegraded("daemonset/"+key(ds.Namespace, ds.Name), ds.Status.NumberAvailable < ds.Status.DesiredNumberScheduled)
}

func (col *Collector) onDaemonSetDelete(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	col.setDegraded("daemonset/"+key(ds.Namespace, ds.Name), false)
}

// onJob records a Job the first time it is seen finished.
func (col *Collector) onJob(obj runtime.Object) {
	j := obj.(*batchv1.Job)
	if col.jobsSeen[j.UID] {
		return
	}
	since := func(t time.Time) float64 { return t.Sub(loop.Epoch).Seconds() }
	job := Job{Name: key(j.Namespace, j.Name), Created: since(j.CreationTimestamp.Time)}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch {
		case c.Type == batchv1.JobComplete && j.Status.CompletionTime != nil:
			job.Outcome, job.Finished = JobComplete, since(j.Status.CompletionTime.Time)
		case c.Type == batchv1.JobFailed:
			job.Outcome, job.Finished = JobFailed, since(c.LastTransitionTime.Time)
		}
	}
	if job.Outcome == "" {
		return
	}
	col.jobsSeen[j.UID] = true
	job.Started = job.Created
	if j.Status.StartTime != nil {
		job.Started = since(j.Status.StartTime.Time)
	}
	job.Duration = job.Finished - job.Started
	col.jobs = append(col.jobs, job)
}
