package kubelet_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// memPod is a pod bound to n1 using memory (its image is on the node, so it starts at
// once); requests and limits are memory quantities, "" for none.
func memPod(name, usage, request, limit string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: map[string]string{model.UsageAnnotation: "startup: 0s\nmemory: " + usage}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}
	res := &p.Spec.Containers[0].Resources
	if request != "" {
		res.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(request)}
	}
	if limit != "" {
		res.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit), corev1.ResourceCPU: resource.MustParse("100m")}
		res.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(request), corev1.ResourceCPU: resource.MustParse("100m")}
	}
	return p
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.NodeCondition{}
}

// TestMemoryPressureEvictsBestEffortThenBurstableThenGuaranteed: a node-critical daemon
// holds 900Mi of the node's 1Gi; three small pods bring memory.available to 4Mi, under
// the 100Mi hard threshold. The eviction manager (every 10s from the kubelet's start)
// evicts one pod per round, the next round as soon as the evicted pod's containers are
// gone (polled every second): BestEffort at 10s, Burstable at 11s, Guaranteed at 12s;
// the critical daemon is never evicted. MemoryPressure shows at the next node status
// (20s) and stays for the 5m transition period after the last round under pressure
// (12s): the round at 313s clears it, the status at 320s reports it.
func TestMemoryPressureEvictsBestEffortThenBurstableThenGuaranteed(t *testing.T) {
	n := simtest.Node("n1", "4", "1Gi")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
	c := simtest.New(t, n)
	hog := memPod("daemon", "900Mi", "", "")
	hog.Spec.PriorityClassName = "system-node-critical"
	c.Apply(hog, memPod("guaranteed", "40Mi", "64Mi", "64Mi"), memPod("burstable", "40Mi", "20Mi", ""), memPod("besteffort", "40Mi", "", ""))
	c.RunFor(14 * time.Second)

	var order []string
	var at []time.Duration
	for _, e := range c.Actions {
		if e.Reason == kubelet.ReasonEvicted {
			order, at = append(order, e.Name), append(at, e.At)
		}
	}
	want := []string{"besteffort", "burstable", "guaranteed"}
	wantAt := []time.Duration{10 * time.Second, 11 * time.Second, 12 * time.Second}
	if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || at[0] != wantAt[0] || at[1] != wantAt[1] || at[2] != wantAt[2] {
		t.Fatalf("evicted %v at %v, want %v at %v", order, at, want, wantAt)
	}
	msgs := map[string]string{
		"besteffort": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 4Mi. Container c was using 40Mi, request is 0, has larger consumption of memory. ",
		"burstable":  "The node was low on resource: memory. Threshold quantity: 100Mi, available: 44Mi. Container c was using 40Mi, request is 20Mi, has larger consumption of memory. ",
		"guaranteed": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. ",
	}
	for name, msg := range msgs {
		p := c.Pod(name)
		if p.Status.Phase != corev1.PodFailed || p.Status.Reason != kubelet.ReasonEvicted || p.Status.Message != msg {
			t.Errorf("%s: phase %s reason %q message %q, want Failed Evicted %q", name, p.Status.Phase, p.Status.Reason, p.Status.Message, msg)
		}
		if d := cond(p, corev1.DisruptionTarget); d.Status != corev1.ConditionTrue || d.Reason != kubelet.ReasonTerminationByKubelet || d.Message != msg {
			t.Errorf("%s: DisruptionTarget %+v", name, d)
		}
		if cs := status(t, p); cs.State.Terminated == nil || cs.State.Running != nil {
			t.Errorf("%s: container %+v, want terminated", name, cs.State)
		}
	}
	if evs := c.Events(kubelet.ReasonEvicted); len(evs) != 3 || evs[0].Type != corev1.EventTypeWarning || evs[0].InvolvedObject.Name != "besteffort" || evs[0].Message != msgs["besteffort"] {
		t.Errorf("Evicted events %+v, want 3, the first about besteffort", evs)
	}
	if p := c.Pod("daemon"); p.Status.Phase != corev1.PodRunning {
		t.Errorf("the critical daemon is %s", p.Status.Phase)
	}
	if evs := c.Events(kubelet.EventEvictionThresholdMet); len(evs) != 1 || evs[0].Count != 3 || evs[0].Message != "Attempting to reclaim memory" || evs[0].InvolvedObject.Kind != "Node" {
		t.Errorf("EvictionThresholdMet events %+v", evs)
	}

	// Under memory pressure a new BestEffort pod is rejected; a Burstable one is admitted.
	c.Apply(memPod("late-besteffort", "10Mi", "", ""), memPod("late-burstable", "10Mi", "10Mi", ""))
	c.RunFor(time.Second)
	if p := c.Pod("late-besteffort"); p.Status.Phase != corev1.PodFailed || p.Status.Reason != kubelet.ReasonEvicted || p.Status.Message != "Pod was rejected: The node had condition: [MemoryPressure]. " {
		t.Errorf("late BestEffort pod: %s %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	}
	if p := c.Pod("late-burstable"); p.Status.Phase != corev1.PodRunning {
		t.Errorf("late Burstable pod: %s %q", p.Status.Phase, p.Status.Message)
	}

	c.RunFor(6 * time.Second) // 21s: the node status at 20s reported the pressure
	mp := nodeCondition(c.Node("n1"), corev1.NodeMemoryPressure)
	if mp.Status != corev1.ConditionTrue || mp.Reason != kubelet.ReasonKubeletHasInsufficientMemory || mp.Message != "kubelet has insufficient memory available" || mp.LastTransitionTime.Sub(c.Loop.Now()) != -time.Second {
		t.Fatalf("at 21s MemoryPressure %+v", mp)
	}
	c.Loop.RunUntil(simtestAt(319 * time.Second))
	if mp := nodeCondition(c.Node("n1"), corev1.NodeMemoryPressure); mp.Status != corev1.ConditionTrue {
		t.Fatalf("at 319s MemoryPressure %+v, want still True", mp)
	}
	c.Loop.RunUntil(simtestAt(320 * time.Second))
	if mp := nodeCondition(c.Node("n1"), corev1.NodeMemoryPressure); mp.Status != corev1.ConditionFalse || mp.Reason != kubelet.ReasonKubeletHasSufficientMemory || !mp.LastTransitionTime.Time.Equal(simtestAt(320*time.Second)) {
		t.Fatalf("at 320s MemoryPressure %+v, want False since 320s", mp)
	}
	var nodeEvents []string
	for _, e := range c.Actions {
		if e.Resource == "nodes" && (e.Reason == "NodeHasInsufficientMemory" || e.Reason == "NodeHasSufficientMemory") {
			nodeEvents = append(nodeEvents, e.Reason+"@"+e.At.String())
		}
	}
	if len(nodeEvents) != 2 || nodeEvents[0] != "NodeHasInsufficientMemory@20s" || nodeEvents[1] != "NodeHasSufficientMemory@5m20s" {
		t.Errorf("node events %v", nodeEvents)
	}
}

// simtestAt is the virtual time d after the start.
func simtestAt(d time.Duration) time.Time { return loop.Epoch.Add(d) }

// TestDiskPressure: nodefs and imagefs are one 10Gi filesystem holding the images and the
// containers' local storage; imagefs.available<15% (1610612800 bytes) is crossed first.
// A writer fills it at 10Mi/s. At 570s the first round under pressure garbage-collects
// the unused 2Gi image (older than 2m) and that is enough; at 770s nothing is left to
// collect, and the writer (over its zero request) is evicted, not the pod within its
// ephemeral-storage request. DiskPressure then keeps new pods out.
func TestDiskPressure(t *testing.T) {
	n := simtest.Node("n1", "4", "8Gi")
	n.Status.Capacity[corev1.ResourceEphemeralStorage] = resource.MustParse("10Gi")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}, {Names: []string{"old:1"}, SizeBytes: 2 << 30}}
	h := newHarness(t, n)
	writer := profiled("writer", "startup: 0s\ndisk: {ramp: {from: 0, to: 9000Mi, over: 900s}}", corev1.RestartPolicyAlways)
	steady := profiled("steady", "startup: 0s\ndisk: 1Gi", corev1.RestartPolicyAlways)
	steady.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("2Gi")
	h.apply(writer, steady)

	h.loop.RunFor(571 * time.Second)
	if gc := h.action("ImageGC"); len(gc) != 1 || gc[0] != 570*time.Second {
		t.Fatalf("image GC at %v, want once at 570s", gc)
	}
	if h.rt.ImagePresent("old:1") || !h.rt.ImagePresent("busybox:1.36") {
		t.Fatalf("images after GC: %+v", h.rt.Images())
	}
	if ev := h.action(kubelet.ReasonEvicted); len(ev) != 0 {
		t.Fatalf("evicted at %v although image GC freed enough", ev)
	}
	h.loop.RunFor(199 * time.Second) // 770s
	if ev := h.action(kubelet.ReasonEvicted); len(ev) != 1 || ev[0] != 770*time.Second {
		t.Fatalf("evictions at %v, want one at 770s", ev)
	}
	want := "The node was low on resource: ephemeral-storage. Threshold quantity: 1610612800, available: 1584450765. Container c was using 8073982771, request is 0, has larger consumption of ephemeral-storage. "
	if p := h.pod("writer"); p.Status.Phase != corev1.PodFailed || p.Status.Reason != kubelet.ReasonEvicted || p.Status.Message != want {
		t.Fatalf("writer: %s %q %q, want %q", p.Status.Phase, p.Status.Reason, p.Status.Message, want)
	}
	if p := h.pod("steady"); p.Status.Phase != corev1.PodRunning {
		t.Fatalf("steady: %s", p.Status.Phase)
	}
	h.loop.RunFor(20 * time.Second)
	obj, err := h.admin.Get("nodes", "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if dp := nodeCondition(obj.(*corev1.Node), corev1.NodeDiskPressure); dp.Status != corev1.ConditionTrue || dp.Reason != kubelet.ReasonKubeletHasDiskPressure || !dp.LastTransitionTime.Time.Equal(simtestAt(580*time.Second)) {
		t.Fatalf("DiskPressure %+v, want True since 580s", dp)
	}
	late := profiled("late", "", corev1.RestartPolicyAlways)
	h.apply(late)
	h.loop.RunFor(time.Second)
	if p := h.pod("late"); p.Status.Phase != corev1.PodFailed || p.Status.Reason != kubelet.ReasonEvicted || p.Status.Message != "Pod was rejected: The node had condition: [DiskPressure]. " {
		t.Fatalf("late pod: %s %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	}
}

// TestEphemeralStorageLimit: a pod whose local storage passes the sum of its containers'
// ephemeral-storage limits, or a container passing its own, is evicted at the next round
// without any node pressure (and without the DisruptionTarget condition), as upstream
// checks them: the pod's total first, then each container.
func TestEphemeralStorageLimit(t *testing.T) {
	cases := []struct {
		name, sideLimit, want string
	}{
		{"pod total", "", "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. "},
		{"container", "5Gi", `Container c exceeded its local ephemeral storage limit "1Gi". `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := simtest.Node("n1", "4", "8Gi")
			n.Status.Capacity[corev1.ResourceEphemeralStorage] = resource.MustParse("100Gi")
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
			h := newHarness(t, n)
			p := profiled("logger", "startup: 0s\ncontainers: {c: {disk: {ramp: {from: 0, to: 2Gi, over: 200s}}}}", corev1.RestartPolicyAlways)
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}
			if tc.sideLimit != "" {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox:1.36", Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(tc.sideLimit)}}})
			}
			h.apply(p)
			h.loop.RunFor(3 * time.Minute)
			// Past 1Gi at 100.005s; the round at 110s sees it.
			if ev := h.action(kubelet.ReasonEvicted); len(ev) != 1 || ev[0] != 110*time.Second {
				t.Fatalf("evictions at %v, want one at 110s", ev)
			}
			if got := h.pod("logger"); got.Status.Reason != kubelet.ReasonEvicted || got.Status.Message != tc.want || cond(got, corev1.DisruptionTarget).Status != "" {
				t.Fatalf("logger: %s %q %q %+v", got.Status.Phase, got.Status.Reason, got.Status.Message, got.Status.Conditions)
			}
		})
	}
}

func TestValidateEvictionHard(t *testing.T) {
	cases := []struct {
		in   map[string]string
		want string // error substring, "" for valid
	}{
		{kubelet.DefaultEvictionHard(), ""},
		{map[string]string{"memory.available": "500Mi", "nodefs.available": "0%"}, ""},
		{map[string]string{"memory.free": "1Gi"}, "evictionHard: unsupported eviction signal memory.free"},
		{map[string]string{"memory.available": "-1Mi"}, "evictionHard: eviction threshold memory.available must be positive: -1Mi"},
		{map[string]string{"nodefs.available": "120%"}, "evictionHard: eviction percentage threshold nodefs.available must be between 0% and 100%: 120%"},
		{map[string]string{"imagefs.available": "x%"}, "evictionHard: imagefs.available: "},
	}
	for _, tc := range cases {
		err := kubelet.ValidateEvictionHard(tc.in)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestNoEvictionWithoutThresholds: an empty evictionHard turns node-pressure eviction off.
func TestNoEvictionWithoutThresholds(t *testing.T) {
	n := simtest.Node("n1", "4", "1Gi")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"busybox:1.36"}, SizeBytes: 5 << 20}}
	h := newHarnessWith(t, kubelet.Config{Node: n, EvictionHard: map[string]string{}})
	h.apply(memPod("big", "1000Mi", "", ""))
	h.loop.RunFor(time.Minute)
	if ev := h.action(kubelet.ReasonEvicted); len(ev) != 0 || h.pod("big").Status.Phase != corev1.PodRunning {
		t.Fatalf("evicted at %v without thresholds", ev)
	}
}
