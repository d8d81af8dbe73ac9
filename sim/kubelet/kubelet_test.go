package kubelet_test

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestPodLifecycle(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := simtest.Pod("web", "500m", "256Mi")
	p.Spec.NodeName = "n1" // bypass the scheduler: the kubelet runs what is bound to it
	c.Apply(p)
	c.RunFor(time.Second)
	if got := c.Pod("web"); got.Status.Phase != corev1.PodPending || got.Status.ContainerStatuses[0].State.Waiting == nil || got.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
		t.Fatalf("while pulling: %+v", got.Status)
	}
	c.RunFor(5 * time.Second)
	got := c.Pod("web")
	if got.Status.Phase != corev1.PodRunning || condition(got, corev1.PodReady) != corev1.ConditionTrue || condition(got, corev1.ContainersReady) != corev1.ConditionTrue {
		t.Fatalf("after start: phase %s, conditions %+v", got.Status.Phase, got.Status.Conditions)
	}
	if at := c.FirstAction("Started", "web"); at != kubelet.DefaultImagePullLatency+kubelet.DefaultContainerStartLatency+apiserver.DefaultWatchLatency {
		t.Errorf("started at %v, want pull + start + watch latency", at)
	}
	// Graceful deletion: the kubelet stops the container and confirms the deletion.
	if _, err := c.Admin.Delete("pods", "default", "web", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Second)
	if c.Pod("web") != nil {
		t.Fatal("the pod was not removed after its containers stopped")
	}
	if c.CountActions("Killing") != 1 {
		t.Error("no Killing action")
	}
}

func TestAdmissionRejectsOverCommit(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "1", "4Gi"))
	big := simtest.Pod("big", "2", "256Mi")
	big.Spec.NodeName = "n1"
	c.Apply(big)
	c.RunFor(time.Second)
	got := c.Pod("big")
	if got.Status.Phase != corev1.PodFailed || got.Status.Reason != "OutOfcpu" {
		t.Fatalf("phase %s reason %q message %q", got.Status.Phase, got.Status.Reason, got.Status.Message)
	}
}

func TestLeaseAndCrashRestart(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := simtest.Pod("web", "100m", "64Mi")
	p.Spec.NodeName = "n1"
	c.Apply(p)
	c.RunFor(35 * time.Second)
	obj, err := c.Admin.Get("leases", apiserver.NodeLeaseNamespace, "n1")
	if err != nil {
		t.Fatal(err)
	}
	l := obj.(*coordinationv1.Lease)
	if !l.Spec.RenewTime.Time.Equal(loop.Epoch.Add(30*time.Second)) || *l.Spec.LeaseDurationSeconds != 40 || *l.Spec.HolderIdentity != "n1" {
		t.Fatalf("lease %+v", l.Spec)
	}
	if err := c.CrashNode("n1"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(20 * time.Second)
	obj, _ = c.Admin.Get("leases", apiserver.NodeLeaseNamespace, "n1")
	if !obj.(*coordinationv1.Lease).Spec.RenewTime.Time.Equal(loop.Epoch.Add(30 * time.Second)) {
		t.Fatal("a crashed kubelet renewed its lease")
	}
	if err := c.RecoverNode("n1"); err != nil {
		t.Fatal(err)
	}
	c.RunFor(5 * time.Second)
	got := c.Pod("web")
	if got.Status.Phase != corev1.PodRunning || got.Status.ContainerStatuses[0].RestartCount != 1 {
		t.Fatalf("after restart: phase %s restarts %d", got.Status.Phase, got.Status.ContainerStatuses[0].RestartCount)
	}
}
