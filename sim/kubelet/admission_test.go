package kubelet_test

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestAdmission: the kubelet re-checks a pod bound to it (by the scheduler or directly)
// as upstream's admission handlers do, and fails it with upstream's reason; the status
// message is "Pod was rejected: " and the event's message.
func TestAdmission(t *testing.T) {
	withPort := func(p *corev1.Pod, port int32) *corev1.Pod {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port}}
		return p
	}
	pod := func(name string) *corev1.Pod { return profiled(name, "", corev1.RestartPolicyAlways) }
	cases := []struct {
		name    string
		node    func(n *corev1.Node)
		before  []*corev1.Pod // admitted first
		pod     func(p *corev1.Pod)
		reason  string // "" when admitted
		message string
	}{
		{name: "fits", pod: func(*corev1.Pod) {}},
		{name: "nodeSelector mismatch", pod: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} },
			reason: "NodeAffinity", message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
		{name: "nodeSelector match", node: func(n *corev1.Node) { n.Labels["disk"] = "ssd" }, pod: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }},
		{name: "required node affinity mismatch", pod: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}}}}}}
		}, reason: "NodeAffinity", message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
		{name: "host port taken", before: []*corev1.Pod{withPort(pod("first"), 8080)}, pod: func(p *corev1.Pod) { withPort(p, 8080) },
			reason: "NodePorts", message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"},
		{name: "other host port", before: []*corev1.Pod{withPort(pod("first"), 8080)}, pod: func(p *corev1.Pod) { withPort(p, 8081) }},
		{name: "untolerated NoExecute taint", node: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}}
		}, pod: func(*corev1.Pod) {}, reason: "TaintToleration", message: "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"},
		{name: "tolerated NoExecute taint", node: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}}
		}, pod: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoExecute}}
		}},
		{name: "NoSchedule taint is the scheduler's business", node: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
		}, pod: func(*corev1.Pod) {}},
		{name: "too much cpu", pod: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
		},
			reason: kubelet.ReasonOutOfCPU, message: "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"},
		{name: "memory taken by an admitted pod", before: []*corev1.Pod{memHog("first", "3Gi")}, pod: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("2Gi")
		}, reason: kubelet.ReasonOutOfMemory, message: "Node didn't have enough resource: memory, requested: 2147483648, used: 3221225472, capacity: 4294967296"},
		{name: "ephemeral storage", node: func(n *corev1.Node) { n.Status.Capacity[corev1.ResourceEphemeralStorage] = resource.MustParse("10Gi") }, pod: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("20Gi")
		}, reason: kubelet.ReasonOutOfEphemeralStorage, message: "Node didn't have enough resource: ephemeral-storage, requested: 21474836480, used: 0, capacity: 10737418240"},
		{name: "pod count", node: func(n *corev1.Node) { n.Status.Capacity[corev1.ResourcePods] = resource.MustParse("1") }, before: []*corev1.Pod{pod("first")}, pod: func(*corev1.Pod) {},
			reason: kubelet.ReasonOutOfPods, message: "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"},
		{name: "GPU share fits", node: gpus(2), before: []*corev1.Pod{gpuPod(pod("first"), 700, "0")}, pod: func(p *corev1.Pod) { gpuPod(p, 300, "0") }},
		{name: "GPU share over one GPU", node: gpus(2), before: []*corev1.Pod{gpuPod(pod("first"), 700, "0")}, pod: func(p *corev1.Pod) { gpuPod(p, 400, "0") },
			reason: "UnexpectedAdmissionError", message: "Allocate failed due to GPU 0 has 300 of 1000 thousandths free, requested 400, which is unexpected"},
		{name: "GPU share on a GPU the node lacks", node: gpus(2), pod: func(p *corev1.Pod) { gpuPod(p, 400, "2") },
			reason: "UnexpectedAdmissionError", message: "Allocate failed due to GPU 2 does not exist: the node has 2, which is unexpected"},
		{name: "os label", pod: func(p *corev1.Pod) { p.Labels[corev1.LabelOSStable] = "windows" },
			reason: kubelet.ReasonPodOSSelectorNodeLabelDoesNotMatch, message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := simtest.Node("n1", "2", "4Gi")
			if tc.node != nil {
				tc.node(n)
			}
			h := newHarness(t, n)
			for _, p := range tc.before {
				h.apply(p)
			}
			h.loop.RunFor(time.Second)
			p := pod("web")
			tc.pod(p)
			h.apply(p)
			h.loop.RunFor(5 * time.Second)
			got := h.pod("web")
			if tc.reason == "" {
				if got.Status.Phase != corev1.PodRunning {
					t.Fatalf("not admitted: %s %q %q", got.Status.Phase, got.Status.Reason, got.Status.Message)
				}
				return
			}
			if got.Status.Phase != corev1.PodFailed || got.Status.Reason != tc.reason || got.Status.Message != "Pod was rejected: "+tc.message {
				t.Fatalf("got %s %q %q, want Failed %q %q", got.Status.Phase, got.Status.Reason, got.Status.Message, tc.reason, "Pod was rejected: "+tc.message)
			}
			if evs := h.events("web", tc.reason); !reflect.DeepEqual(evs, []string{tc.message}) {
				t.Fatalf("events %q", evs)
			}
			if len(got.Status.ContainerStatuses) != 0 || h.started("web") != nil {
				t.Fatalf("a rejected pod ran: %v", h.started("web"))
			}
		})
	}
}

// gpus gives a node n GPUs.
func gpus(n int64) func(*corev1.Node) {
	return func(node *corev1.Node) {
		node.Status.Capacity[gpushare.ResourceGPU] = *resource.NewQuantity(n, resource.DecimalSI)
	}
}

// gpuPod makes p ask for milli thousandths of one GPU and hold the GPUs index.
func gpuPod(p *corev1.Pod, milli int64, index string) *corev1.Pod {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[gpushare.AnnotationGPUCount] = "1"
	p.Annotations[gpushare.AnnotationGPUMilli] = strconv.FormatInt(milli, 10)
	p.Annotations[gpushare.AnnotationGPUIndex] = index
	return p
}

// memHog is a pod bound to n1 requesting memory.
func memHog(name, memory string) *corev1.Pod {
	p := profiled(name, "", corev1.RestartPolicyAlways)
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse(memory)
	return p
}

// TestAdmissionSeesNodeLabelsOfNow: the node affinity re-check uses the node as it is when
// the pod arrives, not as the kubelet registered it.
func TestAdmissionSeesNodeLabelsOfNow(t *testing.T) {
	h := newHarness(t, simtest.Node("n1", "2", "4Gi"))
	h.loop.RunFor(time.Second)
	obj, err := h.admin.Get("nodes", "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	node := obj.(*corev1.Node).DeepCopy()
	node.Labels["disk"] = "ssd"
	if _, err := h.admin.Update(node); err != nil {
		t.Fatal(err)
	}
	p := profiled("web", "", corev1.RestartPolicyAlways)
	p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	h.apply(p)
	h.loop.RunFor(5 * time.Second)
	if got := h.pod("web"); got.Status.Phase != corev1.PodRunning {
		t.Fatalf("%s %q %q", got.Status.Phase, got.Status.Reason, got.Status.Message)
	}
}
