package kubelet_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// profiled returns a pod bound to n1 with the usage profile and restart policy.
func profiled(name, profile string, policy corev1.RestartPolicy) *corev1.Pod {
	p := simtest.Pod(name, "100m", "64Mi")
	p.Spec.NodeName = "n1"
	p.Spec.RestartPolicy = policy
	if profile != "" {
		p.Annotations = map[string]string{model.UsageAnnotation: profile}
	}
	return p
}

// starts returns the virtual times at which containers of the pod started.
func starts(c *simtest.Cluster, pod string) []time.Duration {
	var out []time.Duration
	for _, e := range c.Actions {
		if e.Reason == kubelet.EventStarted && e.Name == pod {
			out = append(out, e.At)
		}
	}
	return out
}

func status(t *testing.T, p *corev1.Pod) *corev1.ContainerStatus {
	t.Helper()
	if p == nil || len(p.Status.ContainerStatuses) == 0 {
		t.Fatalf("no container status: %+v", p)
	}
	return &p.Status.ContainerStatuses[0]
}

func cond(p *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

// firstStart is when the first container of a freshly applied pod starts: watch
// latency, image pull, then the profile's startup time.
const firstStart = apiserver.DefaultWatchLatency + kubelet.DefaultImagePullLatency

func TestCrashLoopBackOffGaps(t *testing.T) {
	cases := []struct {
		name       string
		crashAfter time.Duration
		run        time.Duration
		gaps       []time.Duration // between an exit and the next start
	}{
		{"doubling to the cap", 5 * time.Second, 20 * time.Minute,
			[]time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}},
		{"reset after running 10 minutes", 11 * time.Minute, 34 * time.Minute, []time.Duration{0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
			c.Apply(profiled("web", "startup: 0s\ncrashAfter: "+tc.crashAfter.String(), corev1.RestartPolicyAlways))
			c.RunFor(tc.run)
			s := starts(c, "web")
			if len(s) != len(tc.gaps)+1 || s[0] != firstStart {
				t.Fatalf("starts %v, want %d starting at %v", s, len(tc.gaps)+1, firstStart)
			}
			for i, gap := range tc.gaps {
				if got := s[i+1] - s[i] - tc.crashAfter; got != gap {
					t.Errorf("restart %d: gap %v, want %v (starts %v)", i+1, got, gap, s)
				}
			}
		})
	}
}

func TestCrashLoopBackOffStatus(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	c.Apply(profiled("web", "startup: 0s\ncrashAfter: 5s\ncrashExitCode: 2", corev1.RestartPolicyAlways))
	// Starts at 2.005s, crashes 7.005s, restarts at once, crashes 12.005s, back-off 10s.
	c.RunFor(15 * time.Second)
	p := c.Pod("web")
	cs := status(t, p)
	want := "back-off 10s restarting failed container=c pod=web_default(" + string(p.UID) + ")"
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCrashLoopBackOff || cs.State.Waiting.Message != want {
		t.Fatalf("state %+v, want CrashLoopBackOff %q", cs.State, want)
	}
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 2 || last.Reason != kubelet.ReasonError || !last.FinishedAt.Time.Equal(last.StartedAt.Add(5*time.Second)) {
		t.Fatalf("last state %+v", cs.LastTerminationState)
	}
	if cs.RestartCount != 1 || p.Status.Phase != corev1.PodRunning || cond(p, corev1.PodReady).Status != corev1.ConditionFalse || cond(p, corev1.PodReady).Reason != kubelet.ReasonContainersNotReady {
		t.Fatalf("restarts %d phase %s ready %+v", cs.RestartCount, p.Status.Phase, cond(p, corev1.PodReady))
	}
	c.RunFor(10 * time.Second)
	if cs := status(t, c.Pod("web")); cs.State.Running == nil || cs.RestartCount != 2 {
		t.Fatalf("after back-off: %+v restarts %d", cs.State, cs.RestartCount)
	}
}

func TestRestartPolicy(t *testing.T) {
	cases := []struct {
		policy   corev1.RestartPolicy
		exitCode int
		phase    corev1.PodPhase
		restarts int32
	}{
		{corev1.RestartPolicyNever, 0, corev1.PodSucceeded, 0},
		{corev1.RestartPolicyOnFailure, 0, corev1.PodSucceeded, 0},
		{corev1.RestartPolicyNever, 1, corev1.PodFailed, 0},
		{corev1.RestartPolicyOnFailure, 1, corev1.PodRunning, 1},
		{corev1.RestartPolicyAlways, 0, corev1.PodRunning, 1},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy)+"/"+map[int]string{0: "exit0", 1: "exit1"}[tc.exitCode], func(t *testing.T) {
			c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
			c.Apply(profiled("job", "startup: 0s\nrunFor: 30s\nexitCode: "+map[int]string{0: "0", 1: "1"}[tc.exitCode], tc.policy))
			c.RunFor(firstStart + 30*time.Second + time.Second)
			p := c.Pod("job")
			cs := status(t, p)
			if p.Status.Phase != tc.phase || cs.RestartCount != tc.restarts {
				t.Fatalf("phase %s restarts %d, want %s %d", p.Status.Phase, cs.RestartCount, tc.phase, tc.restarts)
			}
			if tc.phase == corev1.PodSucceeded {
				term := cs.State.Terminated
				if term == nil || term.ExitCode != 0 || term.Reason != kubelet.ReasonCompleted || term.FinishedAt.Time.Sub(term.StartedAt.Time) != 30*time.Second {
					t.Fatalf("terminated %+v", cs.State)
				}
				if r := cond(p, corev1.PodReady); r.Status != corev1.ConditionFalse || r.Reason != kubelet.ReasonPodCompleted {
					t.Fatalf("ready %+v", r)
				}
			}
			if tc.phase == corev1.PodFailed && (cs.State.Terminated == nil || cs.State.Terminated.Reason != kubelet.ReasonError) {
				t.Fatalf("failed state %+v", cs.State)
			}
		})
	}
}

func TestOOMKill(t *testing.T) {
	for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyNever, corev1.RestartPolicyAlways} {
		t.Run(string(policy), func(t *testing.T) {
			c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
			p := profiled("hog", "startup: 0s\nmemory: {ramp: {from: 100Mi, to: 300Mi, over: 200s}}", policy)
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("200Mi")}
			c.Apply(p)
			c.RunFor(firstStart + 99*time.Second)
			if got := c.FirstAction(kubelet.ReasonOOMKilled, "hog"); got != -1 {
				t.Fatalf("OOM-killed early at %v", got)
			}
			c.RunFor(2 * time.Second)
			if got := c.FirstAction(kubelet.ReasonOOMKilled, "hog"); got != firstStart+100*time.Second {
				t.Fatalf("OOM kill at %v, want %v (memory reaches the 200Mi limit half-way up the ramp)", got, firstStart+100*time.Second)
			}
			cs := status(t, c.Pod("hog"))
			term := cs.State.Terminated
			if policy == corev1.RestartPolicyAlways {
				term = cs.LastTerminationState.Terminated
				if cs.State.Running == nil || cs.RestartCount != 1 {
					t.Fatalf("not restarted: %+v", cs)
				}
			} else if c.Pod("hog").Status.Phase != corev1.PodFailed {
				t.Fatalf("phase %s", c.Pod("hog").Status.Phase)
			}
			if term == nil || term.ExitCode != 137 || term.Reason != kubelet.ReasonOOMKilled {
				t.Fatalf("terminated %+v", term)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := profiled("web", "startup: 0s\nreadyAfter: 20s\nlivenessFailsAfter: 30s", corev1.RestartPolicyAlways)
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 5}
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromInt32(8080)}}}
	c.Apply(p)
	c.RunFor(firstStart + 19*time.Second)
	if r := cond(c.Pod("web"), corev1.PodReady); r.Status != corev1.ConditionFalse || c.Pod("web").Status.Phase != corev1.PodRunning {
		t.Fatalf("ready before readyAfter: %+v", r)
	}
	c.RunFor(2 * time.Second)
	r := cond(c.Pod("web"), corev1.PodReady)
	if r.Status != corev1.ConditionTrue || !r.LastTransitionTime.Time.Equal(c.Pod("web").Status.StartTime.Add(firstStart-apiserver.DefaultWatchLatency+20*time.Second)) {
		t.Fatalf("ready %+v, want True since the probe at 20s", r)
	}
	// Liveness: probes every 10s from the start fail from 30s; the third failure (50s)
	// kills the container, which restarts at once (first restart: no back-off).
	c.RunFor(29 * time.Second)
	if s := starts(c, "web"); len(s) != 1 {
		t.Fatalf("restarted before the third liveness failure: %v", s)
	}
	c.RunFor(time.Second)
	s := starts(c, "web")
	if len(s) != 2 || s[1] != s[0]+50*time.Second+kubelet.DefaultSIGTERMExitLatency {
		t.Fatalf("starts %v, want a restart at +50s plus the SIGTERM exit", s)
	}
	if got := c.CountActions(kubelet.EventKilling); got != 1 {
		t.Fatalf("%d Killing actions", got)
	}
	evs := kubeletEvents(t, c)
	if evs[kubelet.EventUnhealthy+"|Liveness probe failed: HTTP probe failed with statuscode: 503"] != 3 || evs[kubelet.EventKilling+"|Container c failed liveness probe, will be restarted"] != 1 {
		t.Fatalf("events %v", evs)
	}
	if cs := status(t, c.Pod("web")); cs.Ready || cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil {
		t.Fatalf("after restart: %+v", cs)
	}
}

// kubeletEvents counts the kubelet's events by reason|message.
func kubeletEvents(t *testing.T, c *simtest.Cluster) map[string]int32 {
	t.Helper()
	res, err := c.Admin.List("events", "default", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int32{}
	for _, o := range res.Items {
		ev := o.(*corev1.Event)
		if ev.Source.Component == "kubelet" && ev.Source.Host == "n1" {
			out[ev.Reason+"|"+ev.Message] += ev.Count
		}
	}
	return out
}

func TestConfigReferences(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := profiled("web", "", corev1.RestartPolicyAlways)
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "x"}}},
		{Name: "Y", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "y", Optional: ptr(true)}}}}
	c.Apply(p)
	c.RunFor(5 * time.Second)
	cs := status(t, c.Pod("web"))
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCreateContainerConfigError || cs.State.Waiting.Message != `configmap "cfg" not found` {
		t.Fatalf("state %+v", cs.State)
	}
	c.Apply(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "cfg"}, Data: map[string]string{"other": "1"}})
	c.RunFor(10 * time.Second)
	if cs := status(t, c.Pod("web")); cs.State.Waiting == nil || cs.State.Waiting.Message != "couldn't find key x in ConfigMap default/cfg" {
		t.Fatalf("state %+v", cs.State)
	}
	obj, err := c.Admin.Get("configmaps", "default", "cfg")
	if err != nil {
		t.Fatal(err)
	}
	cm := obj.(*corev1.ConfigMap).DeepCopy()
	cm.Data = map[string]string{"x": "1"}
	if _, err := c.Admin.Update(cm); err != nil {
		t.Fatal(err)
	}
	c.RunFor(10 * time.Second)
	// Failures at 2.005s, 12.005s; the retry at 22.005s starts the container.
	if s := starts(c, "web"); len(s) != 1 || s[0] != firstStart+2*kubelet.DefaultPodSyncRetry+kubelet.DefaultContainerStartLatency {
		t.Fatalf("starts %v", s)
	}
	if evs := kubeletEvents(t, c); evs[kubelet.EventFailed+`|Error: configmap "cfg" not found`] != 1 {
		t.Fatalf("events %v", evs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestBadProfileIsAConfigError(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	c.Apply(profiled("web", "cpu: 2x", corev1.RestartPolicyAlways))
	c.RunFor(5 * time.Second)
	cs := status(t, c.Pod("web"))
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonCreateContainerConfigError || !strings.Contains(cs.State.Waiting.Message, `cpu: invalid quantity "2x"`) {
		t.Fatalf("state %+v", cs.State)
	}
}

func TestUsageAndPodIPs(t *testing.T) {
	n := simtest.Node("n1", "4", "8Gi")
	n.Spec.PodCIDR = "10.244.1.0/24"
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.0.10"}}
	h := newHarness(t, n)
	a := profiled("a", "startup: 0s\ncpu: 1500m\nmemory: {ramp: {from: 0, to: 100Mi, over: 100s}}", corev1.RestartPolicyAlways)
	a.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	b := profiled("b", "startup: 0s\ncpu: {spikes: {base: 100m, peak: 900m, every: 1m, for: 10s}}", corev1.RestartPolicyAlways)
	h.apply(a, b)
	// One pull at a time: b's pull of the image a's pull brought waits for it, then costs
	// the registry round trip only, so b starts one registry latency after a.
	h.loop.RunFor(firstStart + kubelet.DefaultRegistryLatency + 50*time.Second)
	if pa, pb := h.pod("a"), h.pod("b"); pa.Status.PodIP != "10.244.1.2" || pb.Status.PodIP != "10.244.1.3" || pa.Status.HostIP != "192.168.0.10" || len(pa.Status.PodIPs) != 1 {
		t.Fatalf("IPs a=%s b=%s host=%s", pa.Status.PodIP, pb.Status.PodIP, pa.Status.HostIP)
	}
	u := h.k.PodUsage()
	if len(u) != 2 || u[0].Name != "a" || u[1].Name != "b" {
		t.Fatalf("usage %+v", u)
	}
	if got := u[0].Containers[0].Usage; got.MilliCPU != 1000 || got.MemoryBytes != 51<<20 {
		t.Fatalf("a: %+v, want cpu throttled at 1000m and 51Mi", got)
	}
	if got := u[1].Containers[0].MilliCPU; got != 900 {
		t.Fatalf("b at 50s: %dm, want the 900m spike", got)
	}
}

func TestGracefulTermination(t *testing.T) {
	cases := []struct {
		name    string
		profile string
		preStop *corev1.LifecycleHandler
		grace   int64
		want    time.Duration
	}{
		{"prompt exit", "", nil, 30, kubelet.DefaultSIGTERMExitLatency},
		{"handles SIGTERM in 5s", "sigterm: 5s", nil, 30, 5 * time.Second},
		{"ignores SIGTERM", "sigterm: ignore", nil, 30, 30 * time.Second},
		{"preStop sleep then prompt exit", "", &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 10}}, 30, 10*time.Second + kubelet.DefaultSIGTERMExitLatency},
		{"preStop exec sleep, SIGTERM ignored", "sigterm: ignore", &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "sleep 10"}}}, 15, 15 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
			p := profiled("web", tc.profile, corev1.RestartPolicyAlways)
			p.Spec.TerminationGracePeriodSeconds = &tc.grace
			if tc.preStop != nil {
				p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: tc.preStop}
			}
			c.Apply(p)
			c.RunFor(10 * time.Second)
			if _, err := c.Admin.Delete("pods", "default", "web", apiserver.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			start := c.Loop.Elapsed()
			c.Loop.RunUntil(c.Loop.Now().Add(time.Minute))
			var gone time.Duration = -1
			for _, e := range c.Actions {
				if e.Reason == kubelet.EventKilling && e.Name == "web" {
					gone = e.At - start
				}
			}
			if want := apiserver.DefaultWatchLatency + tc.want; gone != want {
				t.Fatalf("pod stopped %v after the delete, want %v", gone, want)
			}
			if c.Pod("web") != nil {
				t.Fatal("pod not removed")
			}
		})
	}
}

func TestInitContainers(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "2", "4Gi"))
	p := profiled("app", "startup: 0s\ncontainers: {setup: {runFor: 5s}}", corev1.RestartPolicyAlways)
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox:1.36"}}
	c.Apply(p)
	c.RunFor(firstStart + time.Second)
	got := c.Pod("app")
	if got.Status.Phase != corev1.PodPending || cond(got, corev1.PodInitialized).Status != corev1.ConditionFalse || cond(got, corev1.PodInitialized).Message != "containers with incomplete status: [setup]" {
		t.Fatalf("while initialising: %s %+v", got.Status.Phase, cond(got, corev1.PodInitialized))
	}
	if w := status(t, got).State.Waiting; w == nil || w.Reason != kubelet.ReasonPodInitializing {
		t.Fatalf("main container %+v", status(t, got).State)
	}
	c.RunFor(5 * time.Second)
	got = c.Pod("app")
	if s := starts(c, "app"); len(s) != 2 || s[1] != s[0]+5*time.Second {
		t.Fatalf("starts %v: the main container must start when setup completes", s)
	}
	if got.Status.Phase != corev1.PodRunning || cond(got, corev1.PodInitialized).Status != corev1.ConditionTrue || cond(got, corev1.PodReady).Status != corev1.ConditionTrue {
		t.Fatalf("after init: %s %+v", got.Status.Phase, got.Status.Conditions)
	}
	if ic := got.Status.InitContainerStatuses[0]; ic.State.Terminated == nil || ic.State.Terminated.Reason != kubelet.ReasonCompleted {
		t.Fatalf("init status %+v", ic.State)
	}
}

// harness is one kubelet on its own API server, with its runtime at hand.
type harness struct {
	t       *testing.T
	loop    *loop.Loop
	admin   *apiserver.Client
	rt      *kubelet.SimRuntime
	k       *kubelet.Kubelet
	actions []eventlog.Entry
}

func newHarness(t *testing.T, n *corev1.Node) *harness {
	t.Helper()
	return newHarnessWith(t, kubelet.Config{Node: n})
}

// newHarnessWith starts the kubelet of cfg.Node on the simulated runtime NewSimRuntimeFor
// builds from cfg.
func newHarnessWith(t *testing.T, cfg kubelet.Config) *harness {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rt := kubelet.NewSimRuntimeFor(l, cfg)
	k := kubelet.New(l, log, api.ClientFor(apiserver.NodeUser(cfg.Node.Name)), rt, cfg)
	h := &harness{t: t, loop: l, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}}), rt: rt, k: k}
	log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() {
			h.actions = append(h.actions, *e)
		}
	})
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// started returns when the pod's containers started, in order.
func (h *harness) started(pod string) []time.Duration {
	var out []time.Duration
	for _, e := range h.actions {
		if e.Reason == kubelet.EventStarted && e.Name == pod {
			out = append(out, e.At)
		}
	}
	return out
}

// action returns when actions with reason happened.
func (h *harness) action(reason string) []time.Duration {
	var out []time.Duration
	for _, e := range h.actions {
		if e.Reason == reason {
			out = append(out, e.At)
		}
	}
	return out
}

// events returns the messages of the kubelet's events about the pod with reason.
func (h *harness) events(pod, reason string) []string {
	h.t.Helper()
	res, err := h.admin.List("events", "default", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	var evs []*corev1.Event
	for _, o := range res.Items {
		if ev := o.(*corev1.Event); ev.InvolvedObject.Name == pod && ev.Reason == reason {
			evs = append(evs, ev)
		}
	}
	var out []string
	for _, ev := range events.Sorted(evs) {
		out = append(out, ev.Message)
	}
	return out
}

func (h *harness) apply(objs ...runtime.Object) {
	h.t.Helper()
	for _, o := range objs {
		if _, err := h.admin.Create(o); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) pod(name string) *corev1.Pod {
	obj, err := h.admin.Get("pods", "default", name)
	if err != nil {
		return nil
	}
	return obj.(*corev1.Pod)
}

func TestImagePullBackOff(t *testing.T) {
	h := newHarness(t, simtest.Node("n1", "2", "4Gi"))
	h.rt.MarkMissing("ghost:1")
	p := profiled("web", "", corev1.RestartPolicyAlways)
	p.Spec.Containers[0].Image = "ghost:1"
	h.apply(p)
	// The registry answers "not found" after its round trip.
	h.loop.RunFor(apiserver.DefaultWatchLatency + kubelet.DefaultRegistryLatency + 500*time.Millisecond)
	cs := status(t, h.pod("web"))
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonErrImagePull {
		t.Fatalf("after the failed pull: %+v", cs.State)
	}
	h.loop.RunFor(time.Second)
	cs = status(t, h.pod("web"))
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != kubelet.ReasonImagePullBackOff || cs.State.Waiting.Message != `Back-off pulling image "ghost:1"` {
		t.Fatalf("in back-off: %+v", cs.State)
	}
}
