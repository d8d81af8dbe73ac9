package scenarios

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// TestDaemonSetScenario: the DaemonSet puts an agent on every node, on the joining (tainted
// but tolerated) gpu-1 one watch latency after it registers, and stops counting node-2
// once it left.
func TestDaemonSetScenario(t *testing.T) {
	s, err := LoadBuiltin("daemonset")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]time.Duration{}
	for _, e := range run.Actions {
		if e.Reason == "SuccessfulCreate" && e.Resource == "daemonsets" {
			created[e.Message] = e.At
		}
	}
	if len(created) != 4 {
		t.Fatalf("%d agent pods created, want 4: %v", len(created), created)
	}
	var gpu time.Duration = -1
	for msg, at := range created {
		if strings.HasSuffix(msg, "on node gpu-1") {
			gpu = at
		}
	}
	if gpu != 2*time.Minute+5*time.Millisecond {
		t.Errorf("gpu-1's agent created at %v, want 2m0.005s: %v", gpu, created)
	}
	obj, err := run.Cluster.Admin.Get("daemonsets", "kube-system", "node-agent")
	if err != nil {
		t.Fatal(err)
	}
	st := obj.(*appsv1.DaemonSet).Status
	if st.DesiredNumberScheduled != 3 || st.NumberReady != 3 || st.NumberAvailable != 3 {
		t.Errorf("status %+v, want 3 desired, ready and available (node-1, node-3, gpu-1)", st)
	}
	res, _ := run.Cluster.Admin.List("pods", "kube-system", apiserver.Filter{}, false)
	running := map[string]bool{}
	for _, o := range res.Items {
		if p := o.(*corev1.Pod); p.Status.Phase == corev1.PodRunning {
			running[p.Spec.NodeName] = true
		}
	}
	for _, n := range []string{"node-1", "node-3", "gpu-1"} {
		if !running[n] {
			t.Errorf("no running agent on %s: %v", n, running)
		}
	}
}
