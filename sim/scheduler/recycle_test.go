package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// variedPod returns the i-th pod of a mix that exercises every default plugin's cycle
// state: anti-affinity, a nodeSelector, required and preferred node affinity, host ports,
// tolerations, an extended resource, best-effort and plain pods.
func variedPod(i int) *corev1.Pod {
	group := ""
	if i%7 == 0 {
		group = fmt.Sprintf("g%d", i%3)
	}
	p := benchPod(fmt.Sprintf("varied-%d", i), group)
	c := &p.Spec.Containers[0]
	switch i % 6 {
	case 1:
		p.Spec.NodeSelector = map[string]string{corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3)}
	case 2:
		c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: int32(8000 + (i/6)%2)}}
	case 3:
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-1"}}}}}}}}
	case 4:
		c.Resources.Requests = nil // best effort: BalancedAllocation skips
		p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule}}
	case 5:
		c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(fmt.Sprintf("%dm", 500+100*(i%5)))
		c.Image = "busybox"
	}
	return p
}

// TestRecycledStateDecidesAsFresh schedules the same varied pods twice on equal clusters:
// once with the scheduler's recycled cycle state, once with a new state every cycle. Every
// pod must land on the same node: what plugins take back from the last cycle must not leak
// into the next. (The mix is sized so that every pod fits: the bench scheduler has no API
// server to report a failure to.)
func TestRecycledStateDecidesAsFresh(t *testing.T) {
	const nodes, pods = 40, 300
	recycled := benchScheduler(t, nodes, true, defaultProfile)
	fresh := benchScheduler(t, nodes, true, defaultProfile)
	for i := 0; i < pods; i++ {
		for _, s := range []*Scheduler{recycled, fresh} {
			if s == fresh {
				s.state = nil // cycleState makes a new one
			}
			p := variedPod(i)
			key := "default/" + p.Name
			s.queue.add(key, p, true)
			s.scheduleOne(s.queue.pop())
		}
		key := fmt.Sprintf("default/varied-%d", i)
		if a, b := recycled.podNode[key], fresh.podNode[key]; a != b {
			t.Fatalf("pod %d: recycled state put it on %q, a fresh one on %q", i, a, b)
		}
	}
	if len(recycled.podNode) != pods {
		t.Fatalf("%d pods placed, want all %d", len(recycled.podNode), pods)
	}
}
