package daemonset_test

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestTaintsOnRunningNodes: a NoSchedule taint added under a running daemon pod leaves it
// running but counted misscheduled; an untolerated NoExecute taint gets it deleted and not
// recreated; removing the taints brings the pod back.
func TestTaintsOnRunningNodes(t *testing.T) {
	c := cluster(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	c.Apply(daemonSet("nginx:1.26"))
	c.RunFor(time.Minute)
	setTaints := func(name string, ts ...corev1.Taint) {
		t.Helper()
		n := c.Node(name).DeepCopy()
		n.Spec.Taints = ts
		if _, err := c.Admin.Update(n); err != nil {
			t.Fatal(err)
		}
		c.RunFor(time.Minute)
	}

	setTaints("n1", taint("dedicated", corev1.TaintEffectNoSchedule))
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2"}) {
		t.Fatalf("after a NoSchedule taint on n1: pods on %v", got)
	}
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberMisscheduled: 1, NumberReady: 1, NumberAvailable: 1, UpdatedNumberScheduled: 1, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v, want %+v", st, want)
	}

	setTaints("n2", taint("dedicated", corev1.TaintEffectNoExecute))
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1"}) {
		t.Fatalf("after a NoExecute taint on n2: pods on %v", got)
	}
	want = appsv1.DaemonSetStatus{NumberMisscheduled: 1, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v, want %+v", st, want)
	}
	// The taint-eviction controller evicts it too, in the same instant, as upstream's does.
	if evs := c.Events("SuccessfulDelete"); len(evs) != 1 || evs[0].Source.Component != "daemonset-controller" || evs[0].InvolvedObject.Name != "agent" {
		t.Errorf("SuccessfulDelete events %+v, want one from the daemonset-controller", evs)
	}
	if n := c.CountActions("SuccessfulCreate"); n != 2 {
		t.Errorf("%d creates, want 2 (none for the NoExecute-tainted node)", n)
	}

	setTaints("n1")
	setTaints("n2")
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2"}) {
		t.Fatalf("after removing the taints: pods on %v", got)
	}
	want = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 2, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v, want %+v", st, want)
	}
}

// TestCrashedNodeKeepsItsDaemonPod: the default tolerations have no tolerationSeconds, so
// a daemon pod outlives the not-ready/unreachable NoExecute taints of a dead node that
// evict other pods after 300 s.
func TestCrashedNodeKeepsItsDaemonPod(t *testing.T) {
	c := cluster(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	c.Apply(daemonSet("nginx:1.26"), simtest.Pod("web", "100m", "64Mi"))
	c.RunFor(time.Minute)
	web := c.Pod("web").Spec.NodeName
	if err := c.CrashNode(web); err != nil {
		t.Fatal(err)
	}
	c.RunFor(10 * time.Minute)
	if c.FirstAction("TaintManagerEviction", "web") < 0 {
		t.Fatal("the plain pod was never evicted from the dead node")
	}
	if got := liveNodes(c); !reflect.DeepEqual(got, []string{"n1", "n2"}) {
		t.Errorf("daemon pods on %v, want n1 and n2", got)
	}
	if n := c.CountActions("SuccessfulDelete") + c.CountActions("SuccessfulCreate"); n != 2 {
		t.Errorf("%d creates and deletes, want the 2 first creates only", n)
	}
	// The dead node also carries unreachable:NoSchedule, which daemon pods do not
	// tolerate: it is no longer desired, and its pod counts as misscheduled.
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberMisscheduled: 1, NumberReady: 1, NumberAvailable: 1, UpdatedNumberScheduled: 1, ObservedGeneration: 1}
	if st := getDS(c).Status; !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v, want %+v", st, want)
	}
}
