package kubelet_test

import (
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
		if evs := c.Events(kubelet.ReasonEvicted); len(evs) != 3 {
			t.Errorf("%d Evicted events, want 3", len(evs))
		}
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
