package kubelet_test

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

const w = apiserver.DefaultWatchLatency

func at(d time.Duration) time.Time { return loop.Epoch.Add(d) }

// cachedNode is n1 with a podCIDR and busybox:1.36 already on it, so pods start as soon as
// the kubelet sees them.
func cachedNode() *corev1.Node {
	n := simtest.Node("n1", "4", "8Gi")
	n.Spec.PodCIDR = "10.244.1.0/24"
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
	return n
}

// record returns the runtime's record of the pod's container, if any.
func record(h *harness, pod, container string) (kubelet.RuntimeContainer, bool) {
	for _, rc := range h.rt.Containers() {
		if rc.Pod.Name == pod && rc.Name == container {
			return rc, true
		}
	}
	return kubelet.RuntimeContainer{}, false
}

func leaseRenewed(t *testing.T, h *harness) time.Duration {
	t.Helper()
	obj, err := h.admin.Get("leases", apiserver.NodeLeaseNamespace, "n1")
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*coordinationv1.Lease).Spec.RenewTime.Sub(loop.Epoch)
}

// TestStopStart: the kubelet stops at 15s and starts again at 60s. Its containers run on
// meanwhile: web throughout (adopted at 60s, restartCount 0, same start time and
// container ID); crash exits by itself at 30.005s, which nobody reports until the restart
// at 60s restarts it at once (a fresh back-off, as upstream's in-memory one) and its next
// crash at 90s waits the 10s back-off (100s); gone, deleted at 20s with the default 30s
// grace, gets SIGTERM at 60s and exits 5s later, when its deletion completes; orphan,
// force-deleted at 20s, is killed by the first housekeeping at 62s (grace 1s, the
// runtime's 2s minimum; it exits 100ms after SIGTERM); late, bound at 20s, starts at 60s
// with the lowest address no pod holds (orphan's .5 is still held until housekeeping, as
// by the CNI plugin's IPAM).
func TestStopStart(t *testing.T) {
	h := newHarness(t, cachedNode())
	h.apply(profiled("web", "startup: 0s", corev1.RestartPolicyAlways), profiled("crash", "startup: 0s\ncrashAfter: 30s", corev1.RestartPolicyAlways),
		profiled("gone", "startup: 0s\nsigterm: 5s", corev1.RestartPolicyAlways), profiled("orphan", "startup: 0s", corev1.RestartPolicyAlways))
	h.loop.RunUntil(at(15 * time.Second))
	before := h.pod("web")
	h.k.Stop()
	if h.k.Up() || h.k.PodUsage() != nil {
		t.Fatal("a stopped kubelet is up or reports usage")
	}
	h.loop.RunUntil(at(20 * time.Second))
	if _, err := h.admin.Delete("pods", "default", "gone", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if _, err := h.admin.Delete("pods", "default", "orphan", apiserver.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	h.apply(profiled("late", "startup: 0s", corev1.RestartPolicyAlways))
	h.loop.RunUntil(at(59 * time.Second))

	// While down: nothing reported, everything still running but crash.
	if got := leaseRenewed(t, h); got != 10*time.Second {
		t.Errorf("lease renewed at %v, want 10s (the last renewal before the stop)", got)
	}
	if cs := status(t, h.pod("crash")); cs.State.Running == nil || cs.RestartCount != 0 {
		t.Errorf("crash while the kubelet is down: %+v, want still reported running", cs)
	}
	if rc, ok := record(h, "crash", "c"); !ok || rc.State != kubelet.ContainerExited || rc.Exit.Code != 1 || rc.FinishedAt != at(w+30*time.Second) {
		t.Errorf("crash in the runtime: %+v, want exited 1 at 30.005s", rc)
	}
	for _, name := range []string{"web", "gone", "orphan"} {
		if rc, ok := record(h, name, "c"); !ok || rc.State != kubelet.ContainerRunning {
			t.Errorf("%s in the runtime: %+v, want running", name, rc)
		}
	}
	if p := h.pod("late"); p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) != 0 {
		t.Errorf("late before the restart: %+v", p.Status)
	}
	if h.pod("gone") == nil || h.pod("orphan") != nil {
		t.Fatal("gone must wait for the kubelet, orphan was force-deleted")
	}

	h.loop.RunUntil(at(60 * time.Second))
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(60*time.Second + 500*time.Millisecond))
	web := h.pod("web")
	cs, was := status(t, web), status(t, before)
	if cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&was.State.Running.StartedAt) || cs.RestartCount != 0 || cs.ContainerID != was.ContainerID || web.Status.PodIP != "10.244.1.2" {
		t.Errorf("web after the restart: %+v ip %s, want adopted (%+v)", cs, web.Status.PodIP, was)
	}
	if got := h.started("web"); len(got) != 1 || got[0] != w {
		t.Errorf("web started at %v, want once at %v", got, w)
	}
	cs = status(t, h.pod("crash"))
	if last := cs.LastTerminationState.Terminated; cs.State.Running == nil || cs.RestartCount != 1 || last == nil || last.ExitCode != 1 || last.Reason != kubelet.ReasonError ||
		last.StartedAt.Time != at(w) || last.FinishedAt.Time != at(w+30*time.Second) {
		t.Errorf("crash after the restart: %+v", cs)
	}
	if p := h.pod("late"); p.Status.Phase != corev1.PodRunning || p.Status.PodIP != "10.244.1.6" {
		t.Errorf("late: %s ip %s, want Running 10.244.1.6", p.Status.Phase, p.Status.PodIP)
	}
	if got := h.started("late"); len(got) != 1 || got[0] != 60*time.Second {
		t.Errorf("late started at %v, want 60s", got)
	}
	if got := leaseRenewed(t, h); got != 60*time.Second {
		t.Errorf("lease renewed at %v, want 60s", got)
	}
	if got := h.events("gone", kubelet.EventKilling); len(got) != 1 || got[0] != "Stopping container c" {
		t.Errorf("gone: Killing events %q", got)
	}

	h.loop.RunUntil(at(62*time.Second + 50*time.Millisecond))
	if rc, ok := record(h, "orphan", "c"); !ok || !rc.Stopping || rc.State != kubelet.ContainerRunning {
		t.Errorf("orphan at 62.05s: %+v, want being stopped", rc)
	}
	h.loop.RunUntil(at(62*time.Second + 150*time.Millisecond))
	if rc, ok := record(h, "orphan", "c"); ok {
		t.Errorf("orphan at 62.15s: %+v, want gone and forgotten", rc)
	}
	h.loop.RunUntil(at(65*time.Second - time.Millisecond))
	if h.pod("gone") == nil {
		t.Fatal("gone deleted before its container exited")
	}
	h.loop.RunUntil(at(65 * time.Second))
	if h.pod("gone") != nil {
		t.Fatal("gone not deleted when its container exited at 65s")
	}
	h.loop.RunUntil(at(101 * time.Second))
	if got := h.started("crash"); len(got) != 3 || got[0] != w || got[1] != 60*time.Second || got[2] != 100*time.Second {
		t.Errorf("crash started at %v, want [5ms 1m0s 1m40s]", got)
	}
}

// TestStopStartProbes: probes restart from scratch after a restart at 60s, as upstream's
// fresh prober: the readiness result is unknown (not ready) until a probe runs, and a
// container with a startup probe is not started until that probe succeeds again. The
// first probes run at once (their initial delay is long over), so both are ready again
// at 60s; the Ready condition records the transition then.
func TestStopStartProbes(t *testing.T) {
	h := newHarness(t, cachedNode())
	ready := profiled("ready", "startup: 0s", corev1.RestartPolicyAlways)
	ready.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}, PeriodSeconds: 5, InitialDelaySeconds: 3}
	startup := profiled("startup", "startup: 0s", corev1.RestartPolicyAlways)
	startup.Spec.Containers[0].StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}, PeriodSeconds: 10}
	h.apply(ready, startup)
	h.loop.RunUntil(at(15 * time.Second))
	for _, name := range []string{"ready", "startup"} {
		if r := cond(h.pod(name), corev1.PodReady); r.Status != corev1.ConditionTrue || r.LastTransitionTime.Time != at(w+map[string]time.Duration{"ready": 3 * time.Second, "startup": 0}[name]) {
			t.Fatalf("%s before the stop: %+v", name, r)
		}
	}
	h.k.Stop()
	h.loop.RunUntil(at(60 * time.Second))
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(60*time.Second + time.Millisecond))
	for _, name := range []string{"ready", "startup"} {
		p := h.pod(name)
		if r := cond(p, corev1.PodReady); r.Status != corev1.ConditionTrue || r.LastTransitionTime.Time != at(60*time.Second) {
			t.Errorf("%s after the restart: %+v, want True again since 60s", name, r)
		}
		if cs := status(t, p); cs.RestartCount != 0 || !*cs.Started {
			t.Errorf("%s: %+v", name, cs)
		}
	}
}

// TestStopThenCrash: a node that crashes while its kubelet is stopped loses its
// containers; the next start runs them again (restartCount 1, as after any crash).
func TestStopThenCrash(t *testing.T) {
	h := newHarness(t, cachedNode())
	h.apply(profiled("web", "startup: 0s", corev1.RestartPolicyAlways))
	h.loop.RunUntil(at(15 * time.Second))
	h.k.Stop()
	h.loop.RunUntil(at(20 * time.Second))
	h.k.Crash()
	if got := h.rt.Containers(); len(got) != 0 {
		t.Fatalf("containers after the crash: %+v", got)
	}
	h.loop.RunUntil(at(30 * time.Second))
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(31 * time.Second))
	if cs := status(t, h.pod("web")); cs.State.Running == nil || cs.RestartCount != 1 || cs.State.Running.StartedAt.Time != at(30*time.Second) {
		t.Fatalf("after the crash and restart: %+v", cs)
	}
}

// TestStopWhileTerminating: slow takes 20s to exit after SIGTERM. Deleted at 10s, it gets
// SIGTERM at 10.005s; the kubelet stops at 15s and starts at 20s, adopts the container
// being stopped and finishes the deletion when it exits at 30.005s, without a second
// SIGTERM or Killing event.
func TestStopWhileTerminating(t *testing.T) {
	h := newHarness(t, cachedNode())
	h.apply(profiled("slow", "startup: 0s\nsigterm: 20s", corev1.RestartPolicyAlways))
	h.loop.RunUntil(at(10 * time.Second))
	if _, err := h.admin.Delete("pods", "default", "slow", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(15 * time.Second))
	h.k.Stop()
	h.loop.RunUntil(at(20 * time.Second))
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(30*time.Second + w - time.Millisecond))
	if h.pod("slow") == nil {
		t.Fatal("deleted before its container exited")
	}
	h.loop.RunUntil(at(30*time.Second + w))
	if h.pod("slow") != nil {
		t.Fatal("not deleted when its container exited at 30.005s")
	}
	if got := h.events("slow", kubelet.EventKilling); len(got) != 1 {
		t.Fatalf("Killing events %q, want one", got)
	}
}
