package podautoscaler_test

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/podautoscaler"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// harness is a simtest cluster with the HPA controller started on it, measuring pods
// through a Fake whose CPU demand (millicores, shared evenly by the running pods of app=web)
// follows the test's load curve.
type harness struct {
	*simtest.Cluster
	fake *podautoscaler.Fake
}

func newHarness(t *testing.T, load func(elapsed time.Duration) int64) *harness {
	t.Helper()
	// The cluster's own HPA controller is off: the test runs one with a fake metrics source.
	c := simtest.NewWithConfig(t, sim.Config{Seed: 1, DisabledControllers: []string{sim.ControllerHPA},
		Nodes: []*corev1.Node{simtest.Node("n1", "8", "16Gi"), simtest.Node("n2", "8", "16Gi")}})
	cm := c.API.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	inf := func(resource string) *informer.Informer { return informer.New(cm, resource, "", apiserver.Filter{}) }
	hpas, pods, deploys, rss := inf("horizontalpodautoscalers"), inf("pods"), inf("deployments"), inf("replicasets")
	running := func() int64 {
		var n int64
		pods.Range(func(obj runtime.Object) bool {
			if p := obj.(*corev1.Pod); p.Labels["app"] == "web" && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				n++
			}
			return true
		})
		return n
	}
	fake := &podautoscaler.Fake{Clock: c.Loop, Pods: pods, Usage: func(_ *corev1.Pod, _ string, now time.Time) (int64, int64, bool) {
		return load(now.Sub(loop.Epoch)) / running(), 0, true
	}}
	podautoscaler.New(c.Loop, c.Log, cm, hpas, pods, deploys, rss, fake, podautoscaler.Options{})
	for _, i := range []*informer.Informer{hpas, pods, deploys, rss} {
		if err := i.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return &harness{Cluster: c, fake: fake}
}

// web is a Deployment of replicas pods requesting 200m CPU each.
func web(replicas int32) *appsv1.Deployment {
	p := simtest.Pod("", "200m", "64Mi")
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: p.Spec}},
	}
}

// cpuHPA targets 50% CPU utilization of web between 2 and 10 replicas.
func cpuHPA(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior) *autoscalingv2.HorizontalPodAutoscaler {
	minReplicas, target := int32(2), int32(50)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    &minReplicas, MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target},
			}}},
			Behavior: behavior,
		},
	}
}

func (h *harness) hpa() *autoscalingv2.HorizontalPodAutoscaler {
	h.T.Helper()
	obj, err := h.Admin.Get("horizontalpodautoscalers", "default", "web")
	if err != nil {
		h.T.Fatal(err)
	}
	return obj.(*autoscalingv2.HorizontalPodAutoscaler)
}

func (h *harness) rescales() []eventlog.Entry {
	var out []eventlog.Entry
	for _, e := range h.Actions {
		if e.Reason == "SuccessfulRescale" {
			out = append(out, e)
		}
	}
	return out
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) autoscalingv2.HorizontalPodAutoscalerCondition {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return autoscalingv2.HorizontalPodAutoscalerCondition{}
}

// replicas returns the Deployment web's spec.replicas and how many of its pods run.
func (h *harness) replicas() (spec int32, running int) {
	h.T.Helper()
	obj, err := h.Admin.Get("deployments", "default", "web")
	if err != nil {
		h.T.Fatal(err)
	}
	for _, p := range h.Pods() {
		if p.Labels["app"] == "web" && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running++
		}
	}
	return *obj.(*appsv1.Deployment).Spec.Replicas, running
}

// wantRescales checks the SuccessfulRescale actions: their times and messages.
func (h *harness) wantRescales(want ...eventlog.Entry) {
	h.T.Helper()
	got := h.rescales()
	if len(got) != len(want) {
		h.T.Fatalf("%d rescales %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].At != want[i].At || got[i].Message != want[i].Message || got[i].Actor != apiserver.ControllerManagerUser {
			h.T.Fatalf("rescale %d: %v by %s %q, want %v %q", i, got[i].At, got[i].Actor, got[i].Message, want[i].At, want[i].Message)
		}
	}
}

func rescale(at time.Duration, msg string) eventlog.Entry {
	return eventlog.Entry{At: at, Message: msg}
}

const (
	upMsg6   = "New size: 6; reason: cpu resource utilization (percentage of request) above target"
	downMsg2 = "New size: 2; reason: All metrics below target"
	// firstSync is when the controller first reconciles the HPA: one sync period after
	// its informer saw it (the API server's watch latency is 5 ms).
	firstSync = 15*time.Second + 5*time.Millisecond
)

// TestLoadStep: 2 pods at 50% of their CPU request; at t=1m the load triples (150%); at
// t=10m it falls back. The HPA (default behavior: 4 pods or 100% per 15 s up, 300 s
// window down) scales 2 → 6 at the first sync after the step, and back to 2 only once
// every recommendation of 6 has left the 300 s scale-down window.
func TestLoadStep(t *testing.T) {
	load := func(elapsed time.Duration) int64 {
		if elapsed >= time.Minute && elapsed < 10*time.Minute {
			return 600 // 300m per pod of 2: 150% of the 200m request
		}
		return 200 // 100m per pod of 2: 50%
	}
	h := newHarness(t, load)
	h.Apply(web(2), cpuHPA(&autoscalingv2.HorizontalPodAutoscalerBehavior{}))

	// The first sync finds the pods ready for less than a metrics window: no usable sample.
	h.RunFor(firstSync + time.Millisecond)
	ev := h.Events("FailedGetResourceMetric")
	if len(ev) != 1 || ev[0].Source.Component != podautoscaler.Component || ev[0].Type != corev1.EventTypeWarning ||
		ev[0].Message != "failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)" {
		t.Fatalf("FailedGetResourceMetric events %v", ev)
	}
	if c := condition(h.hpa(), autoscalingv2.ScalingActive); c.Status != corev1.ConditionFalse || c.Reason != "FailedGetResourceMetric" {
		t.Fatalf("ScalingActive %+v", c)
	}

	// Syncs run every 15 s from firstSync: the one at 1m0.005s is the first after the step.
	h.RunFor(firstSync + 45*time.Second + time.Millisecond - h.Loop.Elapsed())
	h.wantRescales(rescale(firstSync+45*time.Second, upMsg6))
	st := h.hpa().Status
	if st.CurrentReplicas != 2 || st.DesiredReplicas != 6 || !st.LastScaleTime.Time.Equal(loop.Epoch.Add(firstSync+45*time.Second)) {
		t.Fatalf("status after scale-up %+v", st)
	}
	if c := condition(h.hpa(), autoscalingv2.AbleToScale); c.Reason != "SucceededRescale" || c.Message != "the HPA controller was able to update the target scale to 6" {
		t.Fatalf("AbleToScale %+v", c)
	}
	if c := condition(h.hpa(), autoscalingv2.ScalingActive); c.Status != corev1.ConditionTrue || c.Reason != "ValidMetricFound" {
		t.Fatalf("ScalingActive %+v", c)
	}

	// Six pods share the load at 50%: within tolerance, the count holds.
	h.RunFor(10*time.Minute - h.Loop.Elapsed())
	if spec, running := h.replicas(); spec != 6 || running != 6 {
		t.Fatalf("at 10m: spec %d, %d running; want 6", spec, running)
	}
	if u := h.hpa().Status.CurrentMetrics[0].Resource.Current.AverageUtilization; u == nil || *u != 50 {
		t.Fatalf("utilization at 10m %v, want 50", u)
	}

	// The load drops at 10m (16% per pod). The last recommendation of 6 was made at the
	// sync of 9m45.005s; the scale-down waits until it is 300 s old.
	lastSix := firstSync + 38*15*time.Second // 9m45.005s
	h.RunFor(lastSix + 300*time.Second - time.Millisecond - h.Loop.Elapsed())
	hpa := h.hpa()
	if c := condition(hpa, autoscalingv2.AbleToScale); c.Reason != "ScaleDownStabilized" ||
		c.Message != "recent recommendations were higher than current one, applying the highest recent recommendation" {
		t.Fatalf("AbleToScale before the window ends %+v", c)
	}
	if spec, _ := h.replicas(); spec != 6 || hpa.Status.DesiredReplicas != 6 {
		t.Fatalf("before the window ends: spec %d, desired %d", spec, hpa.Status.DesiredReplicas)
	}
	h.RunFor(20*time.Minute - h.Loop.Elapsed())
	h.wantRescales(rescale(firstSync+45*time.Second, upMsg6), rescale(lastSix+300*time.Second, downMsg2))
	if spec, running := h.replicas(); spec != 2 || running != 2 {
		t.Fatalf("at 20m: spec %d, %d running; want 2", spec, running)
	}
	if ev := h.Events("SuccessfulRescale"); len(ev) != 2 || ev[0].Message != upMsg6 || ev[1].Message != downMsg2 || ev[1].Type != corev1.EventTypeNormal {
		t.Fatalf("SuccessfulRescale events %v", ev)
	}
}

// TestNoBehavior: without spec.behavior upstream limits a sync to max(2×current, 4)
// replicas and counts new pods whose CPU samples predate their readiness as idle.
func TestNoBehavior(t *testing.T) {
	h := newHarness(t, func(elapsed time.Duration) int64 {
		if elapsed >= time.Minute {
			return 600
		}
		return 200
	})
	h.Apply(web(2), cpuHPA(nil))
	h.RunFor(3 * time.Minute)
	// 1m0.005s: 150% asks for 6, the limit is max(2×2, 4) = 4. 1m15.005s: the two new pods
	// are ready for less than a window and count as idle, which would flip the direction,
	// so the metrics ask for 4; but without behavior the highest recommendation of the last
	// 5 minutes applies in both directions, so the 6 of 1m0.005s is applied now (with an
	// empty reason, as upstream's, since the metrics did not ask for more).
	h.wantRescales(rescale(firstSync+45*time.Second, "New size: 4; reason: cpu resource utilization (percentage of request) above target"),
		rescale(firstSync+60*time.Second, "New size: 6; reason: "))
	if c := condition(h.hpa(), autoscalingv2.ScalingLimited); c.Status != corev1.ConditionFalse || c.Reason != "DesiredWithinRange" {
		t.Fatalf("ScalingLimited %+v", c)
	}
}

// TestFailures: a missing target and an unavailable metrics API are reported as upstream
// reports them, and the controller keeps syncing.
func TestFailures(t *testing.T) {
	h := newHarness(t, func(time.Duration) int64 { return 200 })
	hpa := cpuHPA(nil)
	hpa.Spec.ScaleTargetRef.Name = "nope"
	h.Apply(web(2), hpa)
	h.RunFor(time.Minute)
	ev := h.Events("FailedGetScale")
	if len(ev) != 1 || ev[0].Count != 3 || ev[0].Message != `deployments.apps "nope" not found` {
		t.Fatalf("FailedGetScale events %v", ev)
	}
	if c := condition(h.hpa(), autoscalingv2.AbleToScale); c.Status != corev1.ConditionFalse || c.Reason != "FailedGetScale" ||
		c.Message != `the HPA controller was unable to get the target's current scale: deployments.apps "nope" not found` {
		t.Fatalf("AbleToScale %+v", c)
	}

	// Point it at web while the metrics API is down.
	h.fake.Err = errMetricsDown
	fixed := h.hpa().DeepCopy()
	fixed.Spec.ScaleTargetRef.Name = "web"
	if _, err := h.Admin.Update(fixed); err != nil {
		t.Fatal(err)
	}
	h.RunFor(time.Minute)
	want := "failed to get cpu utilization: unable to get metrics for resource cpu: " + errMetricsDown.Error()
	if ev := h.Events("FailedGetResourceMetric"); len(ev) != 1 || ev[0].Message != want {
		t.Fatalf("FailedGetResourceMetric events %v", ev)
	}
	if ev := h.Events("FailedComputeMetricsReplicas"); len(ev) != 1 || ev[0].Message != "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: "+want {
		t.Fatalf("FailedComputeMetricsReplicas events %v", ev)
	}
	hpa = h.hpa()
	if c := condition(hpa, autoscalingv2.ScalingActive); c.Status != corev1.ConditionFalse || c.Reason != "FailedGetResourceMetric" ||
		c.Message != "the HPA was unable to compute the replica count: "+want {
		t.Fatalf("ScalingActive %+v", c)
	}
	if spec, _ := h.replicas(); spec != 2 || len(h.rescales()) != 0 || hpa.Status.CurrentReplicas != 2 {
		t.Fatalf("scaled without metrics: spec %d, rescales %v, status %+v", spec, h.rescales(), hpa.Status)
	}
}

var errMetricsDown = errors.New(`the server is currently unable to handle the request (get pods.metrics.k8s.io)`)

// TestAmbiguousSelector: two HPAs whose targets select the same pods both stop scaling.
func TestAmbiguousSelector(t *testing.T) {
	h := newHarness(t, func(time.Duration) int64 { return 600 })
	second := cpuHPA(nil)
	second.Name = "web2"
	h.Apply(web(2), cpuHPA(nil), second)
	h.RunFor(time.Minute)
	want := "pods by selector app=web are controlled by multiple HPAs: [default/web default/web2]"
	for _, name := range []string{"web", "web2"} {
		obj, err := h.Admin.Get("horizontalpodautoscalers", "default", name)
		if err != nil {
			t.Fatal(err)
		}
		if c := condition(obj.(*autoscalingv2.HorizontalPodAutoscaler), autoscalingv2.ScalingActive); c.Reason != "AmbiguousSelector" || c.Message != want {
			t.Fatalf("%s ScalingActive %+v", name, c)
		}
	}
	// The first HPA's first sync came before the second had a selector; the pods were not
	// ready then, so nothing scaled.
	if n := len(h.rescales()); n != 0 {
		t.Fatalf("%d rescales", n)
	}
}

// TestDeterministic: the same run gives the same event log, byte for byte.
func TestDeterministic(t *testing.T) {
	hashes := make([]string, 2)
	for i := range hashes {
		h := newHarness(t, func(elapsed time.Duration) int64 {
			if elapsed >= time.Minute {
				return 900
			}
			return 200
		})
		h.Apply(web(2), cpuHPA(nil))
		h.RunFor(8 * time.Minute)
		if len(h.rescales()) < 2 {
			t.Fatalf("run %d: %d rescales", i, len(h.rescales()))
		}
		hashes[i] = h.Log.Hash()
	}
	if hashes[0] != hashes[1] {
		t.Fatalf("event log hashes differ: %s %s", hashes[0], hashes[1])
	}
}
