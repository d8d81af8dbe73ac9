package job_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// Timing of the harness: a write reaches informers after the watch latency (5 ms); the
// controller syncs a Job at once on its creation or a spec change and one batch period
// (1 s) after a pod event.
const lat = apiserver.DefaultWatchLatency

// TestCompletionsParallelism: completions 5, parallelism 2, pods that run 10 s: two pods at
// a time, each pair created a batch period after the previous pair finished, then the last
// one; the Job completes with SuccessCriteriaMet then Complete.
func TestCompletionsParallelism(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	h.create(newJob("work", 5, 2, nil))
	h.runUntil(time.Minute)

	// Created at 5 ms (the Job seen), bound 5 ms later, done 10 s after that, seen 5 ms
	// later, synced 1 s later.
	first := lat
	second := first + lat + 10*time.Second + lat + time.Second
	third := second + lat + 10*time.Second + lat + time.Second
	done := third + lat + 10*time.Second + lat + time.Second
	names, at := h.created("work")
	if want := []time.Duration{first, first, second, second, third}; !reflect.DeepEqual(at, want) {
		t.Fatalf("pods %v created at %v, want %v", names, at, want)
	}
	j := h.job("work")
	st := j.Status
	if st.Succeeded != 5 || st.Failed != 0 || st.Active != 0 || *st.Ready != 0 || *st.Terminating != 0 ||
		len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) != 0 {
		t.Fatalf("status %+v", st)
	}
	if st.StartTime == nil || since(*st.StartTime) != first {
		t.Fatalf("startTime %v, want %v", st.StartTime, first)
	}
	for _, ct := range []batchv1.JobConditionType{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete} {
		c := condition(j, ct)
		if c == nil || c.Status != corev1.ConditionTrue || c.Reason != batchv1.JobReasonCompletionsReached ||
			c.Message != "Reached expected number of succeeded pods" || since(c.LastTransitionTime) != done {
			t.Fatalf("%s condition %+v, want True at %v", ct, c, done)
		}
	}
	if st.CompletionTime == nil || since(*st.CompletionTime) != done {
		t.Fatalf("completionTime %v, want %v", st.CompletionTime, done)
	}
	// Every pod lost its tracking finalizer once counted.
	for _, n := range names {
		if p := h.pod(n); p == nil || len(p.Finalizers) != 0 || p.Labels[batchv1.JobNameLabel] != "work" {
			t.Fatalf("pod %s: %+v", n, p)
		}
	}
	evs := h.events("work")
	want := []string{}
	for _, n := range names {
		want = append(want, "Normal SuccessfulCreate Created pod: "+n)
	}
	want = append(want, "Normal Completed Job completed")
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events\n%v\nwant\n%v", evs, want)
	}
}

// TestBackoffLimit: backoffLimit 2 and pods failing 5 s after they start: the second pod
// comes 10 s after the first failure, the third 20 s after the second, and the third
// failure fails the Job (FailureTarget, then Failed) with BackoffLimitExceeded.
func TestBackoffLimit(t *testing.T) {
	h := newHarness(t, 0)
	h.create(newJob("flaky", 1, 1, func(j *batchv1.Job) { two := int32(2); j.Spec.BackoffLimit = &two }))
	failAt := func(d time.Duration, nth int) {
		h.at(d, func() {
			names, _ := h.created("flaky")
			if len(names) != nth {
				t.Fatalf("at %v: %d pods created, want %d", d, len(names), nth)
			}
			h.finish(names[nth-1], corev1.PodFailed)
		})
	}
	failAt(5*time.Second, 1)
	failAt(20*time.Second, 2)
	failAt(45*time.Second, 3)
	h.runUntil(2 * time.Minute)

	_, at := h.created("flaky")
	// The back-off runs from the failure (the container's finish time): 10 s, then 20 s.
	if want := []time.Duration{lat, 5*time.Second + 10*time.Second, 20*time.Second + 20*time.Second}; !reflect.DeepEqual(at, want) {
		t.Fatalf("pods created at %v, want %v", at, want)
	}
	j := h.job("flaky")
	failedAt := 45*time.Second + lat + time.Second
	for _, ct := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed} {
		c := condition(j, ct)
		if c == nil || c.Status != corev1.ConditionTrue || c.Reason != batchv1.JobReasonBackoffLimitExceeded ||
			c.Message != "Job has reached the specified backoff limit" || since(c.LastTransitionTime) != failedAt {
			t.Fatalf("%s condition %+v, want True at %v", ct, c, failedAt)
		}
	}
	if st := j.Status; st.Failed != 3 || st.Succeeded != 0 || st.Active != 0 || st.CompletionTime != nil {
		t.Fatalf("status %+v", st)
	}
	if got := h.actions("flaky", "BackoffLimitExceeded"); !reflect.DeepEqual(got, []time.Duration{failedAt}) {
		t.Fatalf("BackoffLimitExceeded at %v, want %v", got, failedAt)
	}
	evs := h.events("flaky")
	if last := evs[len(evs)-1]; last != "Warning BackoffLimitExceeded Job has reached the specified backoff limit" {
		t.Fatalf("last event %q", last)
	}
}

// TestBackoffCap: with pods failing 1 s after they start, the delay between a failure and
// the replacement doubles from 10 s and stops at 10 min.
func TestBackoffCap(t *testing.T) {
	h := newHarness(t, time.Second)
	h.runAs = corev1.PodFailed
	h.create(newJob("crashy", 1, 1, func(j *batchv1.Job) { lim := int32(9); j.Spec.BackoffLimit = &lim }))
	h.runUntil(2 * time.Hour)
	_, at := h.created("crashy")
	if len(at) != 10 {
		t.Fatalf("%d pods, want 10 (backoffLimit 9)", len(at))
	}
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		failed := at[i-1] + lat + time.Second // bound 5 ms after creation, failed 1 s later
		gaps = append(gaps, at[i]-failed)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	if !reflect.DeepEqual(gaps, want) {
		t.Fatalf("back-off gaps %v, want %v", gaps, want)
	}
	if c := condition(h.job("crashy"), batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("Failed condition %+v", c)
	}
}

// TestActiveDeadline: a Job whose pods run past activeDeadlineSeconds gets FailureTarget
// DeadlineExceeded at startTime + deadline, its pods are deleted, and it turns Failed once
// no pod is terminating any more.
func TestActiveDeadline(t *testing.T) {
	h := newHarness(t, 0)
	h.create(newJob("slow", 4, 2, func(j *batchv1.Job) { ads := int64(30); j.Spec.ActiveDeadlineSeconds = &ads }))
	h.runUntil(30*time.Second + lat)
	j := h.job("slow")
	deadline := lat + 30*time.Second // startTime is when the Job was first synced
	if c := condition(j, batchv1.JobFailureTarget); c == nil || c.Reason != batchv1.JobReasonDeadlineExceeded ||
		c.Message != "Job was active longer than specified deadline" || since(c.LastTransitionTime) != deadline {
		t.Fatalf("FailureTarget %+v, want DeadlineExceeded at %v", c, deadline)
	}
	if condition(j, batchv1.JobFailed) != nil || *j.Status.Terminating != 2 || j.Status.Active != 0 || j.Status.Failed != 2 {
		t.Fatalf("while pods terminate: %+v", j.Status)
	}
	if got := h.actions("slow", "SuccessfulDelete"); !reflect.DeepEqual(got, []time.Duration{deadline, deadline}) {
		t.Fatalf("deletes at %v", got)
	}

	h.runUntil(time.Minute)
	j = h.job("slow")
	// The controller sees its deletions 5 ms later and syncs a batch period after that; by
	// then the kubelet has ended the pods (5 ms after the deletion).
	failed := deadline + lat + time.Second
	if c := condition(j, batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonDeadlineExceeded || since(c.LastTransitionTime) != failed {
		t.Fatalf("Failed %+v, want DeadlineExceeded at %v", c, failed)
	}
	if st := j.Status; st.Failed != 2 || st.Active != 0 || *st.Terminating != 0 || *st.Ready != 0 || st.CompletionTime != nil {
		t.Fatalf("status %+v", st)
	}
	if names, _ := h.created("slow"); len(names) != 2 {
		t.Fatalf("%d pods created, want 2", len(names))
	}
	evs := h.events("slow")
	if last := evs[len(evs)-1]; last != "Warning DeadlineExceeded Job was active longer than specified deadline" {
		t.Fatalf("last event %q", last)
	}
}

// TestIndexed: an Indexed Job creates indexes 0..n-1 lowest first, names and labels its pods
// by index, recreates a failed index with the same index after the back-off, and reports
// completed indexes in upstream's compressed form.
func TestIndexed(t *testing.T) {
	h := newHarness(t, 0)
	h.create(newJob("idx", 4, 2, func(j *batchv1.Job) { m := batchv1.IndexedCompletion; j.Spec.CompletionMode = &m }))
	byIndex := func(ix string) string {
		names, _ := h.created("idx")
		for i := len(names) - 1; i >= 0; i-- {
			if p := h.pod(names[i]); p != nil && p.Annotations[batchv1.JobCompletionIndexAnnotation] == ix {
				return names[i]
			}
		}
		t.Fatalf("no pod of index %s", ix)
		return ""
	}
	h.at(5*time.Second, func() { h.finish(byIndex("1"), corev1.PodFailed) })
	h.at(20*time.Second, func() { h.finish(byIndex("0"), corev1.PodSucceeded) })
	h.at(25*time.Second, func() { h.finish(byIndex("2"), corev1.PodSucceeded) })
	var midway string
	h.at(29*time.Second, func() { midway = h.job("idx").Status.CompletedIndexes })
	h.at(30*time.Second, func() {
		h.finish(byIndex("1"), corev1.PodSucceeded)
		h.finish(byIndex("3"), corev1.PodSucceeded)
	})
	h.runUntil(time.Minute)

	names, at := h.created("idx")
	var indexes []string
	for _, n := range names {
		p := h.pod(n)
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		indexes = append(indexes, ix)
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "idx-"+ix || p.GenerateName != "idx-"+ix+"-" {
			t.Fatalf("pod %s: labels %v hostname %q generateName %q", n, p.Labels, p.Spec.Hostname, p.GenerateName)
		}
		env := p.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Fatalf("pod %s env %+v", n, env)
		}
	}
	sync := lat + time.Second // a pod event is seen after 5 ms and synced 1 s later
	wantAt := []time.Duration{lat, lat, 15 * time.Second, 20*time.Second + sync, 25*time.Second + sync}
	if want := []string{"0", "1", "1", "2", "3"}; !reflect.DeepEqual(indexes, want) || !reflect.DeepEqual(at, wantAt) {
		t.Fatalf("indexes %v at %v, want %v at %v", indexes, at, want, wantAt)
	}
	if midway != "0,2" {
		t.Fatalf("completedIndexes after 0 and 2 = %q, want \"0,2\"", midway)
	}
	j := h.job("idx")
	if st := j.Status; st.CompletedIndexes != "0-3" || st.Succeeded != 4 || st.Failed != 1 || st.FailedIndexes != nil {
		t.Fatalf("status %+v", st)
	}
	if c := condition(j, batchv1.JobComplete); c == nil || since(c.LastTransitionTime) != 30*time.Second+sync {
		t.Fatalf("Complete %+v", c)
	}
}

// TestTTLAfterFinished: the TTL-after-finished controller deletes a finished Job exactly
// ttlSecondsAfterFinished after its Complete condition.
func TestTTLAfterFinished(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	h.create(newJob("once", 1, 1, func(j *batchv1.Job) { ttl := int32(100); j.Spec.TTLSecondsAfterFinished = &ttl }))
	done := lat + lat + 10*time.Second + lat + time.Second
	h.runUntil(done + 100*time.Second - time.Millisecond)
	c := condition(h.job("once"), batchv1.JobComplete)
	if c == nil || since(c.LastTransitionTime) != done {
		t.Fatalf("Complete %+v, want at %v", c, done)
	}
	if j := h.job("once"); j.DeletionTimestamp != nil {
		t.Fatalf("job deleted before its TTL: %v", j.DeletionTimestamp)
	}
	h.runUntil(done + 100*time.Second)
	// Deleted in the foreground: the Job waits for the garbage collector (not running here)
	// to delete its pods.
	j := h.job("once")
	if j.DeletionTimestamp == nil || since(*j.DeletionTimestamp) != done+100*time.Second || !reflect.DeepEqual(j.Finalizers, []string{metav1.FinalizerDeleteDependents}) {
		t.Fatalf("at %v: deletionTimestamp %v finalizers %v", done+100*time.Second, j.DeletionTimestamp, j.Finalizers)
	}
	if got := h.actions("once", "TTLExpired"); !reflect.DeepEqual(got, []time.Duration{done + 100*time.Second}) {
		t.Fatalf("TTLExpired at %v", got)
	}
}

// TestSuspendResume: a Job created suspended has no pods and no startTime; resuming creates
// its pods and starts the clock; suspending again deletes its pods without counting them
// as failed; each change sets the Suspended condition and records an event.
func TestSuspendResume(t *testing.T) {
	h := newHarness(t, 0)
	h.create(newJob("batch", 2, 2, func(j *batchv1.Job) { yes := true; j.Spec.Suspend = &yes }))
	setSuspend := func(v bool) func() {
		return func() { h.updateJob("batch", func(j *batchv1.Job) { j.Spec.Suspend = &v }) }
	}
	type step struct {
		at             time.Duration
		active, failed int32
		suspended      corev1.ConditionStatus
		reason         string
		start          time.Duration // -1: no startTime
	}
	h.at(10*time.Second, setSuspend(false))
	h.at(20*time.Second, setSuspend(true))
	h.at(30*time.Second, setSuspend(false))
	for _, s := range []step{
		{at: 9 * time.Second, suspended: corev1.ConditionTrue, reason: "JobSuspended", start: -1},
		{at: 19 * time.Second, active: 2, suspended: corev1.ConditionFalse, reason: "JobResumed", start: 10*time.Second + lat},
		{at: 29 * time.Second, suspended: corev1.ConditionTrue, reason: "JobSuspended", start: 10*time.Second + lat},
		{at: 39 * time.Second, active: 2, suspended: corev1.ConditionFalse, reason: "JobResumed", start: 30*time.Second + lat},
	} {
		h.runUntil(s.at)
		j := h.job("batch")
		c := condition(j, batchv1.JobSuspended)
		if c == nil || c.Status != s.suspended || c.Reason != s.reason || j.Status.Active != s.active || j.Status.Failed != s.failed {
			t.Fatalf("at %v: Suspended %+v, status %+v", s.at, c, j.Status)
		}
		if (s.start < 0) != (j.Status.StartTime == nil) || (s.start >= 0 && since(*j.Status.StartTime) != s.start) {
			t.Fatalf("at %v: startTime %v, want %v", s.at, j.Status.StartTime, s.start)
		}
	}
	_, at := h.created("batch")
	resumed, again := 10*time.Second+lat, 30*time.Second+lat
	if want := []time.Duration{resumed, resumed, again, again}; !reflect.DeepEqual(at, want) {
		t.Fatalf("pods created at %v, want %v", at, want)
	}
	if got := h.actions("batch", "SuccessfulDelete"); !reflect.DeepEqual(got, []time.Duration{20*time.Second + lat, 20*time.Second + lat}) {
		t.Fatalf("deleted at %v", got)
	}
	if got, want := h.actions("batch", "Suspended"), []time.Duration{lat, 20*time.Second + lat}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Suspended at %v, want %v", got, want)
	}
	if got, want := h.actions("batch", "Resumed"), []time.Duration{resumed, again}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Resumed at %v, want %v", got, want)
	}
	var evs []string
	for _, e := range h.events("batch") {
		if !strings.Contains(e, "Successful") {
			evs = append(evs, e)
		}
	}
	// Repeats of an event are counted on the first (2 each).
	if want := []string{"Normal Suspended Job suspended", "Normal Suspended Job suspended", "Normal Resumed Job resumed", "Normal Resumed Job resumed"}; !reflect.DeepEqual(evs, want) {
		t.Fatalf("events %v, want %v", evs, want)
	}
}

// TestBackoffLimitPerIndex: with backoffLimitPerIndex 1, a failed index is retried once
// after its own back-off (the replacement carries the index's failure count); its second
// failure marks the index failed, and the Job fails with FailedIndexes once every index
// succeeded or failed.
func TestBackoffLimitPerIndex(t *testing.T) {
	h := newHarness(t, 0)
	h.create(newJob("per", 2, 2, func(j *batchv1.Job) {
		m, one := batchv1.IndexedCompletion, int32(1)
		j.Spec.CompletionMode, j.Spec.BackoffLimitPerIndex = &m, &one
	}))
	nth := func(i int) string {
		names, _ := h.created("per")
		return names[i]
	}
	h.at(5*time.Second, func() { h.finish(nth(0), corev1.PodFailed) })
	var failedAfterRetry int32 = -1
	h.at(18*time.Second, func() { failedAfterRetry = h.job("per").Status.Failed })
	h.at(20*time.Second, func() { h.finish(nth(2), corev1.PodFailed) })
	h.at(25*time.Second, func() { h.finish(nth(1), corev1.PodSucceeded) })
	h.runUntil(time.Minute)

	names, at := h.created("per")
	if want := []time.Duration{lat, lat, 15 * time.Second}; !reflect.DeepEqual(at, want) {
		t.Fatalf("pods %v created at %v, want %v", names, at, want)
	}
	for i, want := range []string{"0/0", "1/0", "0/1"} {
		p := h.pod(names[i])
		if got := p.Annotations[batchv1.JobCompletionIndexAnnotation] + "/" + p.Annotations[batchv1.JobIndexFailureCountAnnotation]; got != want {
			t.Fatalf("pod %s index/failures %s, want %s", names[i], got, want)
		}
	}
	// The first failed pod keeps its finalizer (uncounted) until its replacement exists.
	if failedAfterRetry != 1 {
		t.Fatalf("failed after the retry = %d, want 1", failedAfterRetry)
	}
	j := h.job("per")
	st := j.Status
	if st.FailedIndexes == nil || *st.FailedIndexes != "0" || st.CompletedIndexes != "1" || st.Failed != 2 || st.Succeeded != 1 {
		t.Fatalf("status %+v", st)
	}
	failed := 25*time.Second + lat + time.Second
	if c := condition(j, batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonFailedIndexes || c.Message != "Job has failed indexes" || since(c.LastTransitionTime) != failed {
		t.Fatalf("Failed %+v, want FailedIndexes at %v", c, failed)
	}
}

// TestWritesAsControllerManager: every write about Jobs and their pods is made as
// system:kube-controller-manager (the harness's kubelet writes as the admin).
func TestWritesAsControllerManager(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	h.create(newJob("who", 2, 1, nil))
	h.runUntil(time.Minute)
	n := 0
	for _, e := range h.entries {
		switch {
		case e.IsAction(), e.Actor == apiserver.AdminUser:
		case e.Actor != apiserver.ControllerManagerUser || e.Code >= 300:
			t.Fatalf("%s %s %s by %s: %d %s", e.Verb, e.Resource, e.Name, e.Actor, e.Code, e.Message)
		default:
			n++
		}
	}
	if n == 0 {
		t.Fatal("no controller writes")
	}
}
