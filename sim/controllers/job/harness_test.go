package job_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/job"
	"github.com/orrery-sim/orrery/sim/controllers/ttlafterfinished"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// harness is an API server with the Job and TTL-after-finished controllers, and a fake
// kubelet: it binds every new pod to node n1 and runs it (Running, Ready), succeeds it
// after runFor when that is set, and finishes pods being deleted (Failed, then deleted
// with grace period 0) as the kubelet does.
type harness struct {
	t      *testing.T
	l      *loop.Loop
	admin  *apiserver.Client
	runFor time.Duration
	// runAs is the phase pods end in after runFor (Succeeded unless set).
	runAs   corev1.PodPhase
	entries []eventlog.Entry
}

func newHarness(t *testing.T, runFor time.Duration) *harness {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, l: l, runFor: runFor, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
	log.Subscribe(func(e *eventlog.Entry) { h.entries = append(h.entries, *e) })
	h.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Capacity: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}}})

	cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	jobs := informer.New(cm, "jobs", "", apiserver.Filter{})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	pods.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	job.New(l, log, cm, jobs, pods)
	ttlafterfinished.New(l, log, cm, jobs)

	kubelet := informer.New(h.admin, "pods", "", apiserver.Filter{})
	kubelet.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { h.kubelet(obj.(*corev1.Pod)) },
		OnUpdate: func(_, obj runtime.Object) { h.kubelet(obj.(*corev1.Pod)) },
	})
	for _, inf := range []*informer.Informer{jobs, pods, kubelet} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) create(obj runtime.Object) runtime.Object {
	h.t.Helper()
	out, err := h.admin.Create(obj)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// kubelet reacts to a pod as the node agent would.
func (h *harness) kubelet(p *corev1.Pod) {
	terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	switch {
	case p.DeletionTimestamp != nil && !terminal:
		h.finish(p.Name, corev1.PodFailed)
		h.deleteNow(p.Name)
	case p.DeletionTimestamp != nil:
		if p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 0 {
			h.deleteNow(p.Name)
		}
	case p.Spec.NodeName == "":
		if err := h.admin.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
			h.t.Fatalf("bind %s: %v", p.Name, err)
		}
		h.run(p.Name)
		if h.runFor > 0 {
			name := p.Name
			phase := h.runAs
			if phase == "" {
				phase = corev1.PodSucceeded
			}
			h.l.After(h.runFor, func() { h.finish(name, phase) })
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

func (h *harness) run(name string) {
	p := h.pod(name)
	now := metav1.NewTime(h.l.Now())
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	h.updateStatus(p)
}

// finish ends a running pod in phase (Succeeded exits 0, Failed exits 1), now.
func (h *harness) finish(name string, phase corev1.PodPhase) {
	p := h.pod(name)
	if p == nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return
	}
	now := metav1.NewTime(h.l.Now())
	code := int32(0)
	if phase == corev1.PodFailed {
		code = 1
	}
	p.Status.Phase = phase
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: now}}}}
	h.updateStatus(p)
}

func (h *harness) updateStatus(p *corev1.Pod) {
	if _, err := h.admin.UpdateStatus(p); err != nil {
		h.t.Fatalf("update status of %s: %v", p.Name, err)
	}
}

func (h *harness) deleteNow(name string) {
	zero := int64(0)
	if _, err := h.admin.Delete("pods", "default", name, apiserver.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
		h.t.Fatalf("delete %s: %v", name, err)
	}
}

// at runs fn at virtual time d after the start.
func (h *harness) at(d time.Duration, fn func()) { h.l.At(loop.Epoch.Add(d), fn) }

// runUntil runs the loop to virtual time d after the start.
func (h *harness) runUntil(d time.Duration) { h.l.RunUntil(loop.Epoch.Add(d)) }

// newJob returns a Job of pods that never restart.
func newJob(name string, completions, parallelism int32, mutate func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: batchv1.JobSpec{
			Completions: &completions, Parallelism: &parallelism,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
			}},
		},
	}
	if mutate != nil {
		mutate(j)
	}
	return j
}

func (h *harness) job(name string) *batchv1.Job {
	h.t.Helper()
	obj, err := h.admin.Get("jobs", "default", name)
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*batchv1.Job)
}

func (h *harness) updateJob(name string, mutate func(*batchv1.Job)) {
	h.t.Helper()
	j := h.job(name)
	mutate(j)
	if _, err := h.admin.Update(j); err != nil {
		h.t.Fatal(err)
	}
}

// created returns the pods the controller created for a Job, with when, in order.
func (h *harness) created(jobName string) (names []string, at []time.Duration) {
	for _, e := range h.entries {
		if e.IsAction() && e.Reason == "SuccessfulCreate" && e.Name == jobName {
			names = append(names, strings.TrimPrefix(e.Message, "Created pod: "))
			at = append(at, e.At)
		}
	}
	return names, at
}

// actions returns the times of the controller actions with reason about the Job.
func (h *harness) actions(jobName, reason string) []time.Duration {
	var out []time.Duration
	for _, e := range h.entries {
		if e.IsAction() && e.Reason == reason && e.Name == jobName {
			out = append(out, e.At)
		}
	}
	return out
}

// condition returns the Job's condition of type t, or nil.
func condition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// since returns a timestamp as virtual time after the start.
func since(t metav1.Time) time.Duration { return t.Sub(loop.Epoch) }

// events returns the core/v1 Events about the Job, oldest first, as "Type Reason Message".
func (h *harness) events(jobName string) []string {
	h.t.Helper()
	res, err := h.admin.List("events", "default", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	var evs []*corev1.Event
	for _, o := range res.Items {
		if ev := o.(*corev1.Event); ev.InvolvedObject.Kind == "Job" && ev.InvolvedObject.Name == jobName {
			if ev.Source.Component != job.Component {
				h.t.Errorf("event %s from %q, want %q", ev.Reason, ev.Source.Component, job.Component)
			}
			evs = append(evs, ev)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].FirstTimestamp.Before(&evs[j].FirstTimestamp) })
	var out []string
	for _, ev := range evs {
		for i := int32(0); i < ev.Count; i++ {
			out = append(out, ev.Type+" "+ev.Reason+" "+ev.Message)
		}
	}
	return out
}
