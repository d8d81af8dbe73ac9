package ttlafterfinished_test

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/ttlafterfinished"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// TestTTLAfterFinished: a finished Job is deleted (in the foreground) exactly its TTL after
// the lastTransitionTime of its Complete or Failed condition; a TTL changed before expiry
// is honoured; unfinished Jobs and Jobs without a TTL stay.
func TestTTLAfterFinished(t *testing.T) {
	const finish = 10 * time.Second
	for _, tc := range []struct {
		name      string
		ttl       *int32
		cond      batchv1.JobConditionType
		newTTL    *int32 // set at 30 s
		deletedAt time.Duration
	}{
		{name: "complete", ttl: ptr(60), cond: batchv1.JobComplete, deletedAt: finish + 60*time.Second},
		{name: "failed", ttl: ptr(60), cond: batchv1.JobFailed, deletedAt: finish + 60*time.Second},
		{name: "zero", ttl: ptr(0), cond: batchv1.JobComplete, deletedAt: finish + apiserver.DefaultWatchLatency},
		{name: "extended", ttl: ptr(60), cond: batchv1.JobComplete, newTTL: ptr(120), deletedAt: finish + 120*time.Second},
		{name: "no-ttl", cond: batchv1.JobComplete, deletedAt: -1},
		{name: "running", ttl: ptr(60), deletedAt: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loop.New(1)
			log := eventlog.New(l.Elapsed)
			api, err := apiserver.New(l, log, apiserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			admin := api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})
			cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
			jobs := informer.New(cm, "jobs", "", apiserver.Filter{})
			ttlafterfinished.New(l, log, cm, jobs)
			if err := jobs.Start(); err != nil {
				t.Fatal(err)
			}
			one := int32(1)
			j := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "j"},
				Spec: batchv1.JobSpec{Completions: &one, TTLSecondsAfterFinished: tc.ttl, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
				}}},
			}
			if _, err := admin.Create(j); err != nil {
				t.Fatal(err)
			}
			get := func() *batchv1.Job {
				obj, err := admin.Get("jobs", "default", "j")
				if err != nil {
					t.Fatal(err)
				}
				return obj.(*batchv1.Job)
			}
			l.At(loop.Epoch.Add(finish), func() {
				if tc.cond == "" {
					return
				}
				cur := get()
				now := metav1.NewTime(l.Now())
				cur.Status.Conditions = []batchv1.JobCondition{{Type: tc.cond, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now}}
				if _, err := admin.UpdateStatus(cur); err != nil {
					t.Fatal(err)
				}
			})
			if tc.newTTL != nil {
				l.At(loop.Epoch.Add(30*time.Second), func() {
					cur := get()
					cur.Spec.TTLSecondsAfterFinished = tc.newTTL
					if _, err := admin.Update(cur); err != nil {
						t.Fatal(err)
					}
				})
			}
			end := 10 * time.Minute
			if tc.deletedAt > 0 {
				end = tc.deletedAt
				l.RunUntil(loop.Epoch.Add(end - time.Millisecond))
				if got := get(); got.DeletionTimestamp != nil {
					t.Fatalf("deleted early, at %v", got.DeletionTimestamp.Sub(loop.Epoch))
				}
			}
			l.RunUntil(loop.Epoch.Add(end))
			got := get()
			switch {
			case tc.deletedAt < 0 && got.DeletionTimestamp != nil:
				t.Fatalf("deleted at %v, want kept", got.DeletionTimestamp.Sub(loop.Epoch))
			case tc.deletedAt > 0 && (got.DeletionTimestamp == nil || got.DeletionTimestamp.Sub(loop.Epoch) != tc.deletedAt):
				t.Fatalf("deletionTimestamp %v, want %v", got.DeletionTimestamp, tc.deletedAt)
			case tc.deletedAt > 0 && (len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerDeleteDependents):
				t.Fatalf("finalizers %v, want foreground deletion", got.Finalizers)
			}
		})
	}
}

func ptr(v int32) *int32 { return &v }
