package scenarios

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// TestBinpackTrace runs the binpack-trace benchmark (1,000 generated pods on 50 nodes,
// seed 1) with the default profile and with MostAllocated: packing tighter schedules 4
// more pods and leaves 7 waiting at the end instead of 11.
func TestBinpackTrace(t *testing.T) {
	s, err := LoadBuiltin("binpack-trace")
	if err != nil {
		t.Fatal(err)
	}
	data, err := builtin.ReadFile("builtin/binpack/mostallocated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	most, err := schedconfig.ParseFor("mostallocated.yaml", data, schedconfig.PluginNames(plugins.All()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name                                 string
		cfg                                  *configv1.KubeSchedulerConfiguration
		created, scheduled, pending, running int
	}{
		{"default", nil, 1000, 976, 11, 336},
		{"MostAllocated", most, 1000, 980, 7, 340},
	} {
		t.Run(tt.name, func(t *testing.T) {
			created, scheduled := 0, 0
			run, err := s.Run(RunOptions{SchedulerConfig: tt.cfg, Observe: func(_ *sim.Cluster, e *eventlog.Entry) {
				switch {
				case e.Reason == "Scheduled":
					scheduled++
				case e.Actor == apiserver.AdminUser && e.Resource == "pods" && e.Verb == "create" && e.Code < 300:
					created++
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			pods, err := run.Cluster.Admin.List("pods", "bench", apiserver.Filter{}, false)
			if err != nil {
				t.Fatal(err)
			}
			pending, running := 0, 0
			for _, o := range pods.Items {
				p := o.(*corev1.Pod)
				switch {
				case p.DeletionTimestamp != nil:
				case p.Spec.NodeName == "":
					pending++
				case p.Status.Phase == corev1.PodRunning:
					running++
				}
			}
			if created != tt.created || scheduled != tt.scheduled || pending != tt.pending || running != tt.running {
				t.Errorf("created %d, scheduled %d, pending %d, running %d at the end; want %d, %d, %d, %d",
					created, scheduled, pending, running, tt.created, tt.scheduled, tt.pending, tt.running)
			}
		})
	}
}
