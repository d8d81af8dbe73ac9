package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

const timingsHead = `apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 1m
  cluster:
    nodes: [{name: n1, capacity: {cpu: "1", memory: 1Gi}}]
`

func TestTimingsApply(t *testing.T) {
	s, err := Parse("s.yaml", []byte(timingsHead+`  timings:
    nodeStatusUpdateFrequency: 2s
    nodeLeaseRenewInterval: 2s
    nodeLeaseDuration: 8s
    nodeMonitorPeriod: 1s
    nodeMonitorGracePeriod: 8s
    containerBackOffInitial: 2s
    containerBackOffMax: 16s
`))
	if err != nil {
		t.Fatal(err)
	}
	var cfg sim.Config
	s.applyTimings(&cfg)
	k, n := cfg.Kubelet, cfg.NodeLifecycle
	got := []time.Duration{k.NodeStatusUpdateFrequency, k.LeaseRenewInterval, k.LeaseDuration, n.MonitorPeriod, n.GracePeriod, k.BackOffInitial, k.BackOffMax}
	want := []time.Duration{2 * time.Second, 2 * time.Second, 8 * time.Second, time.Second, 8 * time.Second, 2 * time.Second, 16 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timings applied as %v, want %v", got, want)
		}
	}
}

func TestTimingsErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"  timings: {nodeMonitorGracePeriod: 5s}\n", `spec.timings.nodeMonitorGracePeriod: Invalid value: "5s": must be longer than the lease renew interval (10s)`},
		{"  timings: {containerBackOffMax: 0s}\n", `spec.timings.containerBackOffMax: Invalid value: "0s": must be positive`},
		{"  timings: {nodeMonitorGrace: 5s}\n", `nodeMonitorGrace`},
	} {
		_, err := Parse("s.yaml", []byte(timingsHead+tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %s", tc.body, err, tc.want)
		}
	}
}

// fakeBackend records what a run asked of it and drives the loop in virtual time.
type fakeBackend struct {
	nodes  []string
	driven time.Duration
}

func (b *fakeBackend) Runtime(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error) {
	b.nodes = append(b.nodes, cfg.Node.Name)
	return kubelet.NewSimRuntimeFor(clock, cfg), nil
}

func (b *fakeBackend) Drive(l *loop.Loop, d time.Duration) error {
	b.driven = d
	l.RunFor(d)
	return nil
}

func TestBackendRunsTheNodesAndTheLoop(t *testing.T) {
	s, err := Parse("s.yaml", []byte(timingsHead))
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{}
	r, err := s.Run(RunOptions{NoMetrics: true, Backend: func(*loop.Loop) (Backend, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.nodes) != 1 || b.nodes[0] != "n1" || b.driven != time.Minute || r.Cluster.Loop.Elapsed() != time.Minute {
		t.Fatalf("backend made runtimes for %v and drove %v (loop at %v); want n1 and 1m", b.nodes, b.driven, r.Cluster.Loop.Elapsed())
	}
}
