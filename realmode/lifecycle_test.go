package realmode_test

import (
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// times returns when the actions with reason happened, in order.
func (c *realCluster) times(reason string) []time.Duration {
	var out []time.Duration
	for _, e := range c.Actions {
		if e.Reason == reason {
			out = append(out, e.At)
		}
	}
	return out
}

func TestOOMKillIsRestartedWithBackOff(t *testing.T) {
	t.Parallel()
	c := newRealCluster(t, node("n1", "2", "1Gi"))
	// The footprint ramps past the 48Mi limit about 0.4 s after each start.
	c.Apply(deployment("hog", 1, podSpec("memory: {ramp: {from: 8Mi, to: 200Mi, over: 2s}}", "48Mi", 1)))
	c.runUntil(40*time.Second, "four OOM kills", func() bool { return len(c.times(kubelet.ReasonOOMKilled)) >= 4 })
	started, ooms := c.times(kubelet.EventStarted), c.times(kubelet.ReasonOOMKilled)
	t.Logf("started at %v, OOM-killed at %v", started, ooms)
	pods := c.Pods()
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	cs := pods[0].Status.ContainerStatuses[0]
	term := cs.LastTerminationState.Terminated
	if term == nil || term.ExitCode != 137 || term.Reason != kubelet.ReasonOOMKilled {
		t.Fatalf("last termination %+v, want exit 137 OOMKilled", cs.LastTerminationState)
	}
	if cs.RestartCount < 3 {
		t.Fatalf("restart count %d, want at least 3", cs.RestartCount)
	}
	// Each kill comes after its start (the ramp needs ~0.4 s). As upstream's kubelet, the
	// first restart is at once, later ones wait out the CrashLoopBackOff, doubling from
	// 1 s: ≥1 s after the second kill, ≥2 s after the third.
	for i := 0; i < 3; i++ {
		if run := ooms[i] - started[i]; run < 200*time.Millisecond || run > 5*time.Second {
			t.Errorf("instance %d ran %v before its OOM kill, want about 0.4 s", i, run)
		}
		wantGap := time.Duration(0)
		if i > 0 {
			wantGap = time.Duration(1<<(i-1)) * time.Second
		}
		if gap := started[i+1] - ooms[i]; gap < wantGap || gap > wantGap+3*time.Second {
			t.Errorf("restart %d came %v after the kill, want the %v back-off (plus a start)", i+1, gap, wantGap)
		}
	}
}

func TestJobRetriedUpToBackoffLimit(t *testing.T) {
	t.Parallel()
	c := newRealCluster(t, node("n1", "2", "1Gi"))
	limit, grace := int32(2), int64(1)
	tmpl := podSpec("runFor: 300ms\nexitCode: 1", "", grace)
	tmpl.Labels = map[string]string{"job": "fails"}
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	c.Apply(&batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "fails"},
		Spec:       batchv1.JobSpec{BackoffLimit: &limit, Template: tmpl},
	})
	failed := func() *batchv1.JobCondition {
		obj, err := c.Admin.Get("jobs", "default", "fails")
		if err != nil {
			return nil
		}
		for _, cond := range obj.(*batchv1.Job).Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
				return &cond
			}
		}
		return nil
	}
	// Pod failure back-off: 10 s, then 20 s.
	c.runUntil(60*time.Second, "the Job to fail", func() bool { return failed() != nil })
	if r := failed().Reason; r != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("Job failed with %s, want %s", r, batchv1.JobReasonBackoffLimitExceeded)
	}
	pods := c.Pods()
	if len(pods) != int(limit)+1 {
		t.Fatalf("%d pods, want backoffLimit+1 = %d", len(pods), limit+1)
	}
	for _, p := range pods {
		term := p.Status.ContainerStatuses[0].State.Terminated
		if p.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 1 {
			t.Errorf("pod %s: phase %s, state %+v; want Failed with exit code 1", p.Name, p.Status.Phase, p.Status.ContainerStatuses[0].State)
		}
	}
	started := c.times(kubelet.EventStarted)
	t.Logf("attempts started at %v", started)
	if len(started) != 3 || started[1]-started[0] < 10*time.Second || started[2]-started[1] < 20*time.Second {
		t.Errorf("attempts started at %v, want three, 10 s and 20 s of back-off apart (plus the runs)", started)
	}
}

func TestNodeCrashReplacesPodsOnAnotherNode(t *testing.T) {
	t.Parallel()
	c := newRealCluster(t, node("n1", "2", "1Gi"), node("n2", "2", "1Gi"))
	tmpl := podSpec("cpu: 10m\nmemory: 12Mi", "", 1)
	// Evicted 1 s after the node is found unreachable (the default is 300 s).
	secs := int64(1)
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		tmpl.Spec.Tolerations = append(tmpl.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs})
	}
	c.Apply(deployment("web", 2, tmpl))
	onNode := func(n string) int {
		k := 0
		for _, p := range c.Pods() {
			if p.Spec.NodeName == n && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				k++
			}
		}
		return k
	}
	c.runUntil(30*time.Second, "2 running pods", func() bool { return c.running() == 2 })
	victim, other := "n1", "n2"
	if onNode(victim) == 0 {
		victim, other = other, victim
	}
	lost := onNode(victim)
	crashAt := c.Loop.Elapsed()
	if err := c.CrashNode(victim); err != nil {
		t.Fatal(err)
	}
	c.runUntil(60*time.Second, "the pods replaced on "+other, func() bool { return onNode(other) == 2 })
	t.Logf("%d pod(s) of %s replaced on %s %v after the crash", lost, victim, other, c.Loop.Elapsed()-crashAt)
	if got := c.tasks(victim); got["running"] != 0 {
		t.Errorf("tasks on the crashed %s: %v, want none running", victim, got)
	}
	c.runUntil(10*time.Second, "2 running tasks on "+other, func() bool { return c.tasks(other)["running"] == 2 })
}

// stopRecorder wraps a runtime and records how each StopContainer ended.
type stopRecorder struct {
	kubelet.Runtime
	clock interface{ Now() time.Time }
	stops []stopResult
}

type stopResult struct {
	grace, took time.Duration
	exit        kubelet.Exit
}

func (r *stopRecorder) Unwrap() kubelet.Runtime { return r.Runtime }

func (r *stopRecorder) StopContainer(id string, grace time.Duration, done func(kubelet.Exit)) {
	start := r.clock.Now()
	r.Runtime.StopContainer(id, grace, func(e kubelet.Exit) {
		r.stops = append(r.stops, stopResult{grace: grace, took: r.clock.Now().Sub(start), exit: e})
		done(e)
	})
}

func TestGracefulDeletion(t *testing.T) {
	t.Parallel()
	var rec *stopRecorder
	c := newWrappedCluster(t, func(clock loop.Clock, rt kubelet.Runtime) kubelet.Runtime {
		rec = &stopRecorder{Runtime: rt, clock: clock}
		return rec
	}, node("n1", "2", "1Gi"))
	pod := func(name, usage string, grace int64) *corev1.Pod {
		tmpl := podSpec(usage, "", grace)
		return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: tmpl.Annotations}, Spec: tmpl.Spec}
	}
	// "slow" exits 1.5 s after SIGTERM, within its 5 s; "stubborn" ignores SIGTERM and is
	// killed when its 2 s run out.
	c.Apply(pod("slow", "sigterm: 1500ms", 5), pod("stubborn", "sigterm: ignore", 2))
	c.runUntil(30*time.Second, "2 running pods", func() bool { return c.running() == 2 })
	for _, name := range []string{"slow", "stubborn"} {
		if _, err := c.Admin.Delete("pods", "default", name, apiserver.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.runUntil(20*time.Second, "the pods to be gone", func() bool { return len(c.Pods()) == 0 })
	if len(rec.stops) != 2 {
		t.Fatalf("%d stops, want 2", len(rec.stops))
	}
	sort.Slice(rec.stops, func(i, j int) bool { return rec.stops[i].grace > rec.stops[j].grace })
	slow, stubborn := rec.stops[0], rec.stops[1]
	t.Logf("slow: exit %d after %v of %v; stubborn: exit %d after %v of %v", slow.exit.Code, slow.took, slow.grace, stubborn.exit.Code, stubborn.took, stubborn.grace)
	if slow.grace != 5*time.Second || slow.exit.Code != 0 || slow.took < 1500*time.Millisecond || slow.took > 4*time.Second {
		t.Errorf("slow: %+v, want exit 0 about 1.5 s after SIGTERM, within its 5 s grace", slow)
	}
	if stubborn.grace != 2*time.Second || stubborn.exit.Code != 137 || stubborn.took < 2*time.Second || stubborn.took > 4*time.Second {
		t.Errorf("stubborn: %+v, want SIGKILL (137) when its 2 s grace ran out", stubborn)
	}
}
