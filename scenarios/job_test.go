package scenarios

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// TestJobRetriesScenario: "migrate" is retried after 10 s and then 20 s of pod-failure
// back-off and fails on its third failure (backoffLimit 2); "report" completes its 4 pods
// 2 at a time and expires 60 s after it finished.
func TestJobRetriesScenario(t *testing.T) {
	s, err := LoadBuiltin("job-retries")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var failed, created []time.Duration
	at := map[string]time.Duration{}
	for _, e := range run.Actions {
		switch {
		case e.Reason == "PodCompleted" && e.Name[:7] == "migrate":
			failed = append(failed, e.At)
		case e.Reason == "SuccessfulCreate" && e.Resource == "jobs" && e.Name == "migrate":
			created = append(created, e.At)
		case e.Reason == "Completed" || e.Reason == "BackoffLimitExceeded" || e.Reason == "TTLExpired":
			at[e.Reason+"/"+e.Name] = e.At
		}
	}
	if len(failed) != 3 || len(created) != 3 {
		t.Fatalf("migrate: pods created at %v, failed at %v; want 3 of each", created, failed)
	}
	// The back-off runs from the failed pod's finish: 10 s, then 20 s.
	if g := created[1] - failed[0]; g != 10*time.Second {
		t.Errorf("first retry %v after the failure, want 10s", g)
	}
	if g := created[2] - failed[1]; g != 20*time.Second {
		t.Errorf("second retry %v after the failure, want 20s", g)
	}
	want := map[string]time.Duration{
		"Completed/report":             time.Minute + 5035*time.Millisecond,
		"BackoffLimitExceeded/migrate": time.Minute + 34540*time.Millisecond,
		"TTLExpired/report":            2*time.Minute + 5035*time.Millisecond,
	}
	for k, w := range want {
		if at[k] != w {
			t.Errorf("%s at %v, want %v", k, at[k], w)
		}
	}
	// The TTL controller deletes in the foreground: the garbage collector removes the
	// Job's pods, then the Job.
	if _, err := run.Cluster.Admin.Get("jobs", "default", "report"); err == nil {
		t.Error("job report still exists after its TTL")
	}
	res, _ := run.Cluster.Admin.List("pods", "default", apiserver.Filter{Labels: labels.SelectorFromSet(labels.Set{"job-name": "report"})}, false)
	if res != nil && len(res.Items) != 0 {
		t.Errorf("%d pods of the deleted job remain", len(res.Items))
	}
}
