package job_test

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

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
