package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/orrery-sim/orrery/sim/proxy"
)

// TestRollingUpdateTrafficScenario: the same rollout under the same 200 req/s fails 619
// requests of 'naive' and none of 'safe'.
//
// naive: each new pod is an endpoint as soon as its container starts, 3 s before its
// application serves — 483 requests meet a warming-up application (not-ready); each old
// pod stops listening at SIGTERM, the instant it is deleted, and the proxies route to it
// until they have synced the EndpointSlice change (within their 1 s minSyncPeriod) — 136
// requests are refused. Failures last from 1m2.545s (the first new pods started at
// 1m2.5s, after the 2 s pull of the new image) to 1m6.57s.
//
// safe: the readiness probe keeps new pods out of the endpoints until they serve, and the
// 5 s preStop sleep keeps old pods serving while every proxy drops them (about a second
// at most), so no request meets a pod that does not serve.
func TestRollingUpdateTrafficScenario(t *testing.T) {
	s, err := LoadBuiltin("rolling-update-traffic")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Cluster.Traffic().Stats()
	if len(st) != 2 {
		t.Fatalf("%d streams, want 2", len(st))
	}
	naive, safe := st[0], st[1]
	if naive.Stream.Service != "default/naive" || naive.Requests != 30000 || naive.Failed != 619 ||
		naive.FailedBy(proxy.CauseRefused) != 136 || naive.FailedBy(proxy.CauseNotReady) != 483 ||
		naive.FirstFailure != 62545*time.Millisecond || naive.LastFailure != 66570*time.Millisecond {
		t.Errorf("naive: %s %d requests, %d failed (%d refused, %d not-ready) from %v to %v; want 30000, 619 (136 refused, 483 not-ready) from 1m2.545s to 1m6.57s",
			naive.Stream.Service, naive.Requests, naive.Failed, naive.FailedBy(proxy.CauseRefused), naive.FailedBy(proxy.CauseNotReady), naive.FirstFailure, naive.LastFailure)
	}
	if safe.Stream.Service != "default/safe" || safe.Requests != 30000 || safe.Failed != 0 {
		t.Errorf("safe: %s %d requests, %d failed; want 30000, none", safe.Stream.Service, safe.Requests, safe.Failed)
	}
}

// TestTrafficValidation: spec.traffic errors name their field.
func TestTrafficValidation(t *testing.T) {
	base := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: \"1\", memory: 1Gi}}]\n  traffic:\n"
	tests := []struct {
		entry, want string
	}{
		{"  - {service: web, rate: 10, port: 80, via: LoadBalancer, arrivals: poisson, clients: random, latency: {base: 1ms, mean: 0s}}", ""},
		{"  - {service: default/web, rate: 0}", "spec.traffic[0].rate: Invalid value: 0"},
		{"  - {rate: 5}", "spec.traffic[0].service: Invalid value: \"\""},
		{"  - {service: a/b/c, rate: 5}", "spec.traffic[0].service: Invalid value: \"a/b/c\""},
		{"  - {service: web, rate: 5, via: Ingress}", "spec.traffic[0].via: Unsupported value: \"Ingress\""},
		{"  - {service: web, rate: 5, arrivals: bursty}", "spec.traffic[0].arrivals: Unsupported value"},
		{"  - {service: web, rate: 5, clients: sticky}", "spec.traffic[0].clients: Unsupported value"},
		{"  - {service: web, rate: 5, start: 2m, stop: 1m}", "spec.traffic[0].stop: Invalid value: 1m0s: must be after start (2m0s)"},
		{"  - {service: web, rps: 5}", `spec.traffic[0].rps: unknown field "spec.traffic[0].rps"`},
	}
	for _, tt := range tests {
		s, err := Parse("scenario.yaml", []byte(base+tt.entry+"\n"))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.entry, err)
		case tt.want == "":
			st := s.trafficConfig().Streams[0]
			if st.Service != "default/web" || st.Port != "80" || st.Via != proxy.ViaLoadBalancer || st.LatencyBase != time.Millisecond || st.LatencyMean != -1 {
				t.Errorf("stream %+v", st)
			}
		case err == nil || !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s: error %v, want %q", tt.entry, err, tt.want)
		}
	}
}
