package metrics

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/faults"
)

// nodeActor is the prefix of the kubelets' identities.
const nodeActor = "system:node:"

// faultKinds are the fault actions that start a fault (not those that end one).
var faultKinds = map[string]bool{
	string(faults.NodeCrash): true, string(faults.KubeletStop): true, string(faults.NetworkPartition): true,
	string(faults.ZoneOutage): true, string(faults.ContainerCrash): true, string(faults.MemoryPressure): true,
	string(faults.DiskPressure): true, string(faults.SlowRegistry): true, string(faults.APIServerBrownout): true,
}

func ok(code int) bool { return code >= 200 && code < 300 }

// onEntry reads one event-log entry: the API writes and component actions that count.
func (col *Collector) onEntry(e *eventlog.Entry) {
	if col.done {
		return
	}
	switch e.Verb {
	case "action":
		col.onAction(e)
	case "create":
		switch e.Resource {
		case "pods":
			if ok(e.Code) {
				col.created[key(e.Namespace, e.Name)] = e.At
			}
		case "pods/binding":
			if ok(e.Code) {
				k := key(e.Namespace, e.Name)
				if t, found := col.created[k]; found {
					col.scheduling = append(col.scheduling, e.At-t)
					delete(col.created, k)
				}
			}
		case "pods/eviction":
			if ok(e.Code) {
				col.counts.EvictionsAPI++
			}
		case "events":
			col.onEventWrite(e)
		}
	case "update", "patch":
		if e.Resource == "events" {
			col.onEventWrite(e)
		}
	case "delete":
		if e.Resource == "pods" && ok(e.Code) {
			delete(col.created, key(e.Namespace, e.Name)) // deleted before it was bound
			if e.Actor == apiserver.SchedulerUser {
				col.counts.PreemptionVictims++
			}
		}
	}
}

func (col *Collector) onAction(e *eventlog.Entry) {
	switch e.Reason {
	case "Preempted":
		if e.Actor == apiserver.SchedulerUser {
			col.counts.PreemptionAttempts++
		}
	case "TaintManagerEviction":
		col.counts.EvictionsTaint++
	case "Evicted":
		if strings.HasPrefix(e.Actor, nodeActor) {
			col.counts.EvictionsKubelet++
		}
	case "OOMKilled":
		col.counts.OOMKills++
	default:
		if e.Actor == faults.Actor && faultKinds[e.Reason] {
			col.fault(e)
		}
	}
}

// onEventWrite reads a kubelet's Event about a pod that has not started yet, for the
// image pulls its startup latency leaves out.
func (col *Collector) onEventWrite(e *eventlog.Entry) {
	if !ok(e.Code) || !strings.HasPrefix(e.Actor, nodeActor) {
		return
	}
	i := strings.LastIndexByte(e.Name, '.')
	if i < 0 {
		return
	}
	ps := col.pods[key(e.Namespace, e.Name[:i])]
	if ps == nil || ps.started {
		return
	}
	obj, err := col.c.Admin.Get("events", e.Namespace, e.Name)
	if err != nil {
		return
	}
	ev := obj.(*corev1.Event)
	if ev.InvolvedObject.UID != ps.uid {
		return
	}
	now := col.c.Loop.Now()
	switch ev.Reason {
	case "Pulling":
		if ps.pullFirst.IsZero() {
			ps.pullFirst = now
		}
	case "Pulled":
		if !ps.pullFirst.IsZero() && strings.HasPrefix(ev.Message, "Successfully pulled") {
			ps.pullLast = now
		}
	}
}
