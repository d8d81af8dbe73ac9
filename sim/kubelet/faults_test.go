package kubelet_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestCrashContainer: web runs from 5ms. Killed (137) at 10s it is reported Error (no OOM
// kill) and restarted at once (the first restart); exiting 2 at 20s it waits the 10s
// back-off (30s). Crashed at 45s while the kubelet is stopped (from 40s), the exit is
// reported at the start at 50s, and restarted then (a fresh back-off). With
// restartPolicy Never the pod fails.
func TestCrashContainer(t *testing.T) {
	h := newHarness(t, cachedNode())
	h.apply(profiled("web", "startup: 0s", corev1.RestartPolicyAlways), profiled("job", "startup: 0s", corev1.RestartPolicyNever))
	h.loop.RunUntil(at(10 * time.Second))
	if err := h.k.CrashContainer("default", "web", "", 137); err != nil {
		t.Fatal(err)
	}
	if err := h.k.CrashContainer("default", "job", "c", 137); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(11 * time.Second))
	cs := status(t, h.pod("web"))
	if last := cs.LastTerminationState.Terminated; cs.State.Running == nil || cs.RestartCount != 1 || last == nil || last.ExitCode != 137 || last.Reason != kubelet.ReasonError || last.FinishedAt.Time != at(10*time.Second) {
		t.Fatalf("web after the kill: %+v", cs)
	}
	if p := h.pod("job"); p.Status.Phase != corev1.PodFailed || status(t, p).State.Terminated == nil || status(t, p).State.Terminated.ExitCode != 137 {
		t.Fatalf("job after the kill: %s %+v", p.Status.Phase, status(t, p).State)
	}
	h.loop.RunUntil(at(20 * time.Second))
	if err := h.k.CrashContainer("default", "web", "c", 2); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(25 * time.Second))
	cs = status(t, h.pod("web"))
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCrashLoopBackOff || cs.LastTerminationState.Terminated.ExitCode != 2 {
		t.Fatalf("web in back-off: %+v", cs)
	}
	for _, tc := range []struct{ pod, container, want string }{
		{"web", "", `container "c" of pod default/web is not running on node n1`},
		{"web", "sidecar", `pod default/web has no container "sidecar"`},
		{"nope", "", "pod default/nope has no containers on node n1"},
		{"job", "", `container "c" of pod default/job is not running on node n1`},
	} {
		if err := h.k.CrashContainer("default", tc.pod, tc.container, 1); err == nil || err.Error() != tc.want {
			t.Errorf("crash %s/%q: %v, want %q", tc.pod, tc.container, err, tc.want)
		}
	}
	h.loop.RunUntil(at(40 * time.Second))
	h.k.Stop()
	h.loop.RunUntil(at(45 * time.Second))
	if err := h.k.CrashContainer("default", "web", "", 3); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(50 * time.Second))
	if cs := status(t, h.pod("web")); cs.State.Running == nil || cs.RestartCount != 2 {
		t.Fatalf("web while the kubelet is down: %+v, want still reported running", cs)
	}
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	h.loop.RunUntil(at(51 * time.Second))
	cs = status(t, h.pod("web"))
	if last := cs.LastTerminationState.Terminated; cs.RestartCount != 3 || last == nil || last.ExitCode != 3 || last.FinishedAt.Time != at(45*time.Second) {
		t.Fatalf("web after the restart: %+v", cs)
	}
	want := []time.Duration{w, 10 * time.Second, 30 * time.Second, 50 * time.Second}
	if got := h.started("web"); !reflect.DeepEqual(got, want) {
		t.Fatalf("web started at %v, want %v", got, want)
	}
}

// TestNodeMemoryPressureInjected: a BestEffort pod uses 40Mi of the node's 1Gi; 950Mi in
// use outside pods from 25s leaves memory.available at 34Mi. The eviction round at 30s
// evicts the pod; MemoryPressure shows at the node status at 40s. The signal stays under
// its threshold (74Mi) until the usage is released at 60s: the last round that saw it was
// at 51s, so the round at 351s clears the condition and the status at 360s reports it.
func TestNodeMemoryPressureInjected(t *testing.T) {
	n := simtest.Node("n1", "4", "1Gi")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
	h := newHarness(t, n)
	h.apply(memPod("besteffort", "40Mi", "", ""))
	h.loop.RunUntil(at(25 * time.Second))
	h.k.AddNodeUsage(950<<20, 0)
	if u, ok := h.k.NodeUsage(); !ok || u.MemoryBytes != 990<<20 || u.DiskBytes != 5<<20 {
		t.Fatalf("node usage %+v, want 990Mi of memory and the 5Mi image", u)
	}
	h.loop.RunUntil(at(41 * time.Second))
	if got := h.action(kubelet.ReasonEvicted); !reflect.DeepEqual(got, []time.Duration{30 * time.Second}) {
		t.Fatalf("evictions at %v, want [30s]", got)
	}
	msg := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 34Mi. Container c was using 40Mi, request is 0, has larger consumption of memory. "
	if p := h.pod("besteffort"); p.Status.Phase != corev1.PodFailed || p.Status.Reason != kubelet.ReasonEvicted || p.Status.Message != msg {
		t.Fatalf("besteffort: %s %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	}
	node := func() *corev1.Node {
		obj, err := h.admin.Get("nodes", "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.Node)
	}
	if mp := nodeCondition(node(), corev1.NodeMemoryPressure); mp.Status != corev1.ConditionTrue || mp.LastTransitionTime.Time != at(40*time.Second) {
		t.Fatalf("MemoryPressure at 41s: %+v", mp)
	}
	h.loop.RunUntil(at(60 * time.Second))
	h.k.AddNodeUsage(-950<<20, 0)
	h.loop.RunUntil(at(359 * time.Second))
	if mp := nodeCondition(node(), corev1.NodeMemoryPressure); mp.Status != corev1.ConditionTrue {
		t.Fatalf("MemoryPressure at 359s: %+v, want still True", mp)
	}
	h.loop.RunUntil(at(360 * time.Second))
	if mp := nodeCondition(node(), corev1.NodeMemoryPressure); mp.Status != corev1.ConditionFalse || mp.LastTransitionTime.Time != at(360*time.Second) {
		t.Fatalf("MemoryPressure at 360s: %+v, want False since 360s", mp)
	}
	if u, _ := h.k.NodeUsage(); u.MemoryBytes != 0 {
		t.Fatalf("node memory after the release: %d", u.MemoryBytes)
	}
}

// TestNodeDiskPressureInjected: 9Gi written outside pods on a 10Gi disk leaves 1019Mi,
// under imagefs.available<15%; the image is in use, so the round at 10s evicts the pod
// and DiskPressure shows at the status at 20s.
func TestNodeDiskPressureInjected(t *testing.T) {
	n := simtest.Node("n1", "4", "8Gi")
	n.Status.Capacity[corev1.ResourceEphemeralStorage] = resource.MustParse("10Gi")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
	h := newHarness(t, n)
	h.apply(memPod("besteffort", "40Mi", "", ""))
	h.loop.RunUntil(at(5 * time.Second))
	h.k.AddNodeUsage(0, 9<<30)
	h.loop.RunUntil(at(21 * time.Second))
	if got := h.action(kubelet.ReasonEvicted); !reflect.DeepEqual(got, []time.Duration{10 * time.Second}) {
		t.Fatalf("evictions at %v, want [10s]", got)
	}
	if p := h.pod("besteffort"); !strings.HasPrefix(p.Status.Message, "The node was low on resource: ephemeral-storage. ") || !strings.Contains(p.Status.Message, "available: 1019Mi. ") {
		t.Fatalf("besteffort: %q", p.Status.Message)
	}
	obj, _ := h.admin.Get("nodes", "", "n1")
	if dp := nodeCondition(obj.(*corev1.Node), corev1.NodeDiskPressure); dp.Status != corev1.ConditionTrue || dp.LastTransitionTime.Time != at(20*time.Second) {
		t.Fatalf("DiskPressure at 21s: %+v", dp)
	}
}

// TestSlowImagePulls pins pull times while a node's pulls are slowed down: small:1 (10 MiB)
// pulled under +4s at 10 MiB/s takes 1s + 4s + 1s; after restore mid:1 (100 MiB) takes
// 1s + 2s again. big:1 (500 MiB, 11s) started at 30.005s keeps its timing when pulls slow
// down (+2s) at 35s; other:1 (default 50 MiB), queued behind it, starts its pull at
// 41.005s under the slowdown: 1s + 2s + 1s.
func TestSlowImagePulls(t *testing.T) {
	n := simtest.Node("n1", "4", "8Gi")
	h := newHarnessWith(t, kubelet.Config{Node: n, Images: kubelet.ImageOptions{Sizes: map[string]int64{"small:1": 10 << 20, "mid:1": 100 << 20, "big:1": 500 << 20}}})
	pod := func(name, image string) *corev1.Pod {
		p := profiled(name, "startup: 0s", corev1.RestartPolicyAlways)
		p.Spec.Containers[0].Image = image
		return p
	}
	restore := h.k.SlowImagePulls(4*time.Second, 10<<20)
	h.apply(pod("a", "small:1"))
	h.loop.RunUntil(at(20 * time.Second))
	restore()
	h.apply(pod("b", "mid:1"))
	h.loop.RunUntil(at(30 * time.Second))
	h.apply(pod("c", "big:1"))
	h.loop.RunUntil(at(35 * time.Second))
	restore = h.k.SlowImagePulls(2*time.Second, 0)
	h.loop.RunUntil(at(36 * time.Second))
	h.apply(pod("d", "other:1"))
	h.loop.RunUntil(at(time.Minute))
	restore()
	want := map[string]time.Duration{"a": w + 6*time.Second, "b": 20*time.Second + w + 3*time.Second, "c": 30*time.Second + w + 11*time.Second, "d": 30*time.Second + w + 11*time.Second + 4*time.Second}
	for name, at := range want {
		if got := h.started(name); len(got) != 1 || got[0] != at {
			t.Errorf("%s started at %v, want %v", name, got, at)
		}
	}
	if got := h.events("a", kubelet.EventPulled); !reflect.DeepEqual(got, []string{`Successfully pulled image "small:1" in 6s (6s including waiting). Image size: 10485760 bytes.`}) {
		t.Errorf("a: Pulled %q", got)
	}
	if got := h.events("d", kubelet.EventPulled); !reflect.DeepEqual(got, []string{`Successfully pulled image "other:1" in 4s (9s including waiting). Image size: 52428800 bytes.`}) {
		t.Errorf("d: Pulled %q", got)
	}
}

// TestSlowPullsNest: slowdowns in effect together add their latencies and the lowest
// bandwidth applies; restoring one leaves the other.
func TestSlowPullsNest(t *testing.T) {
	l := loop.New(1)
	rt := kubelet.NewSimRuntime(l)
	rt.ImageSizes = map[string]int64{"x:1": 100 << 20, "x:2": 100 << 20, "x:3": 100 << 20}
	pull := func(image string) time.Duration {
		start := l.Now()
		var took time.Duration = -1
		rt.PullImage(image, func(int64, error) { took = l.Now().Sub(start) })
		l.RunFor(time.Minute)
		return took
	}
	a := rt.SlowPulls(time.Second, 20<<20)
	b := rt.SlowPulls(2*time.Second, 10<<20)
	if got := pull("x:1"); got != 14*time.Second {
		t.Errorf("both: %v, want 1s+1s+2s + 100MiB at 10MiB/s = 14s", got)
	}
	b()
	b() // restoring twice is harmless
	if got := pull("x:2"); got != 7*time.Second {
		t.Errorf("first only: %v, want 1s+1s + 100MiB at 20MiB/s = 7s", got)
	}
	a()
	if got := pull("x:3"); got != 3*time.Second {
		t.Errorf("restored: %v, want 3s", got)
	}
}
