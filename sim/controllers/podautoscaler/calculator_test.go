package podautoscaler

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// podState describes a test pod: its phase, readiness and when it started and last changed
// readiness, relative to now.
type podState struct {
	name       string
	phase      corev1.PodPhase
	ready      corev1.ConditionStatus // "" for no Ready condition
	startedAgo time.Duration
	readyAgo   time.Duration
	deleted    bool
	noRequest  bool
}

// running is a pod that has been running and ready for ten minutes.
func running(name string) podState {
	return podState{name: name, phase: corev1.PodRunning, ready: corev1.ConditionTrue, startedAgo: 10 * time.Minute, readyAgo: 10 * time.Minute}
}

func (s podState) pod(now time.Time) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: s.name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
		}}}}},
		Status: corev1.PodStatus{Phase: s.phase},
	}
	if s.noRequest {
		p.Spec.Containers[0].Resources.Requests = nil
	}
	if s.deleted {
		p.DeletionTimestamp = &metav1.Time{Time: now}
	}
	if s.phase != corev1.PodPending {
		p.Status.StartTime = &metav1.Time{Time: now.Add(-s.startedAgo)}
	}
	if s.ready != "" {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: s.ready, LastTransitionTime: metav1.NewTime(now.Add(-s.readyAgo))}}
	}
	return p
}

func TestUtilizationReplicas(t *testing.T) {
	cpuInitPod := running("new")
	cpuInitPod.startedAgo, cpuInitPod.readyAgo = 20*time.Second, 10*time.Second // sample window began before it was ready
	pending := podState{name: "pending", phase: corev1.PodPending}
	notReady := running("c")
	notReady.ready = corev1.ConditionFalse
	deleted := running("gone")
	deleted.deleted = true

	cases := []struct {
		name    string
		pods    []podState
		usage   map[string]int64 // millicores by pod
		target  int32
		current int32
		want    int32
		wantUtl int32
		wantErr string
	}{
		{name: "2 pods at 150% of a 50% target scale to 6", pods: []podState{running("a"), running("b")},
			usage: map[string]int64{"a": 300, "b": 300}, target: 50, current: 2, want: 6, wantUtl: 150},
		{name: "54% is within the 10% tolerance", pods: []podState{running("a"), running("b")},
			usage: map[string]int64{"a": 108, "b": 108}, target: 50, current: 2, want: 2, wantUtl: 54},
		{name: "46% is within the 10% tolerance", pods: []podState{running("a"), running("b")},
			usage: map[string]int64{"a": 92, "b": 92}, target: 50, current: 2, want: 2, wantUtl: 46},
		{name: "56% is past the tolerance", pods: []podState{running("a"), running("b")},
			usage: map[string]int64{"a": 112, "b": 112}, target: 50, current: 2, want: 3, wantUtl: 56},
		{name: "scale down to the ceiling", pods: []podState{running("a"), running("b"), running("c"), running("d")},
			usage: map[string]int64{"a": 20, "b": 20, "c": 20, "d": 20}, target: 50, current: 4, want: 1, wantUtl: 10},
		{name: "a pod missing metrics counts as 0% on a scale-up", pods: []podState{running("a"), running("b"), running("c")},
			usage: map[string]int64{"a": 300, "b": 300}, target: 50, current: 3, want: 6, wantUtl: 150},
		{name: "a pod missing metrics counts as 100% on a scale-down", pods: []podState{running("a"), running("b"), running("c"), running("d")},
			usage: map[string]int64{"a": 20, "b": 20, "c": 20}, target: 50, current: 4, want: 3, wantUtl: 10},
		{name: "missing pods that would flip the direction keep the count", pods: []podState{running("a"), running("b"), running("c"), running("d")},
			usage: map[string]int64{"a": 120, "b": 120}, target: 50, current: 4, want: 4, wantUtl: 60},
		{name: "a pending pod counts as 0% on a scale-up", pods: []podState{running("a"), running("b"), pending},
			usage: map[string]int64{"a": 300, "b": 300}, target: 50, current: 3, want: 6, wantUtl: 150},
		{name: "a pod in CPU initialization whose sample predates readiness counts as 0% on a scale-up", pods: []podState{running("a"), running("b"), cpuInitPod},
			usage: map[string]int64{"a": 300, "b": 300, "new": 1000}, target: 50, current: 3, want: 6, wantUtl: 150},
		{name: "unready pods are left out of a scale-down", pods: []podState{running("a"), running("b"), notReady},
			usage: map[string]int64{"a": 20, "b": 20, "c": 200}, target: 50, current: 3, want: 1, wantUtl: 10},
		{name: "deleted pods are ignored", pods: []podState{running("a"), running("b"), deleted},
			usage: map[string]int64{"a": 300, "b": 300, "gone": 0}, target: 50, current: 2, want: 6, wantUtl: 150},
		{name: "no pods", target: 50, current: 2, wantErr: "no pods returned by selector while calculating replica count"},
		{name: "only unready pods", pods: []podState{pending}, usage: map[string]int64{}, target: 50, current: 1,
			wantErr: "did not receive metrics for targeted pods (pods might be unready)"},
		{name: "a container without a request", pods: []podState{running("a"), {name: "b", phase: corev1.PodRunning, ready: corev1.ConditionTrue, startedAgo: time.Hour, readyAgo: time.Hour, noRequest: true}},
			usage: map[string]int64{"a": 100, "b": 100}, target: 50, current: 2, wantErr: "missing request for cpu in container c of Pod b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &calc{resource: corev1.ResourceCPU, current: tc.current, tol: tolerances{0.1, 0.1}, now: t0,
				cpuInit: DefaultCPUInitializationPeriod, readinessDelay: DefaultInitialReadinessDelay, samples: map[string]sample{}}
			for _, s := range tc.pods {
				c.pods = append(c.pods, s.pod(t0))
			}
			for name, v := range tc.usage {
				c.samples[name] = sample{value: v, timestamp: t0, window: FakeWindow}
			}
			got, utl, _, err := c.utilizationReplicas(tc.target)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || utl != tc.wantUtl {
				t.Fatalf("replicas %d utilization %d%%, want %d at %d%%", got, utl, tc.want, tc.wantUtl)
			}
		})
	}
}

func TestAverageValueAndMemory(t *testing.T) {
	pods := []*corev1.Pod{running("a").pod(t0), running("b").pod(t0)}
	// AverageValue: 2 pods at 300m against 100m per pod.
	c := &calc{pods: pods, resource: corev1.ResourceCPU, current: 2, tol: tolerances{0.1, 0.1}, now: t0,
		cpuInit: DefaultCPUInitializationPeriod, readinessDelay: DefaultInitialReadinessDelay,
		samples: map[string]sample{"a": {value: 300, timestamp: t0, window: FakeWindow}, "b": {value: 300, timestamp: t0, window: FakeWindow}}}
	if n, usage, err := c.averageValueReplicas(100); err != nil || n != 6 || usage != 300 {
		t.Fatalf("average value: %d replicas, usage %d, %v; want 6, 300", n, usage, err)
	}
	// Memory utilization: samples through the MetricsSource conversion (bytes to milli-bytes),
	// 150Mi of 100Mi requested each, target 75%: ratio 2 → 4. Memory skips the CPU readiness rules.
	src := staticSource{{Name: "a", Timestamp: t0, Containers: []ContainerMetric{{Name: "c", MemoryBytes: 150 << 20}}},
		{Name: "b", Timestamp: t0, Containers: []ContainerMetric{{Name: "c", MemoryBytes: 150 << 20}}}}
	samples, _, err := resourceSamples(src, "default", nil, corev1.ResourceMemory, "")
	if err != nil {
		t.Fatal(err)
	}
	notReady := running("b")
	notReady.ready = corev1.ConditionFalse
	c = &calc{pods: []*corev1.Pod{running("a").pod(t0), notReady.pod(t0)}, samples: samples, resource: corev1.ResourceMemory, current: 2,
		tol: tolerances{0.1, 0.1}, now: t0}
	if n, utl, raw, err := c.utilizationReplicas(75); err != nil || n != 4 || utl != 150 || raw != 150<<20*1000 {
		t.Fatalf("memory: %d replicas at %d%% (raw %d), %v; want 4 at 150%%", n, utl, raw, err)
	}
	// An empty answer is upstream's "no metrics returned".
	if _, _, err := resourceSamples(staticSource{}, "default", nil, corev1.ResourceCPU, ""); err == nil || !strings.Contains(err.Error(), "unable to get metrics for resource cpu: no metrics returned from resource metrics API") {
		t.Fatalf("empty source: %v", err)
	}
}

// staticSource is a MetricsSource answering the same samples whatever is asked.
type staticSource []PodMetric

func (s staticSource) PodMetrics(string, labels.Selector) ([]PodMetric, error) { return s, nil }
