package proxy_test

import (
	"reflect"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/proxy"
)

// since is a virtual time as a duration from the start.
func since(t time.Time) time.Duration { return t.Sub(loop.Epoch) }

// TestReadinessFailure: p2's application stops serving 60 s after its container started
// (at 2.505 s), so from 62.505 s the requests routed to it fail (not-ready). Its readiness
// probe (every second, failureThreshold 2) fails at 62.505 s and 63.505 s; the kubelet
// marks it unready, the EndpointSlice controller removes it at 63.51 s, and each proxy
// learns of it after its own delay (0.22 s, 0.74 s and 1.94 s, drawn from the seed) — the
// failures go on until the slowest proxy has reprogrammed its rules, and not a request
// longer.
func TestReadinessFailure(t *testing.T) {
	c := cluster(t, 3, proxy.Options{DelayJitter: 3 * time.Second}, proxy.Stream{Service: "default/web", Rate: 100, Start: 30 * time.Second})
	c.Apply(service("web", corev1.ServiceTypeClusterIP), webPod("p1", "n1", ""), webPod("p2", "n2", "readinessFailsAfter: 60s"), webPod("p3", "n3", ""))
	c.RunFor(3 * time.Minute)
	s := c.Traffic().Stats()[0]
	if s.Requests != 15000 || s.Failed != 71 || s.FailedBy(proxy.CauseNotReady) != 71 || s.FirstFailure != 62550*time.Millisecond || s.LastFailure != 65430*time.Millisecond {
		t.Errorf("%d requests, %d failed (%s) from %v to %v; want 15000, 71 not-ready from 1m2.55s to 1m5.43s", s.Requests, s.Failed, causes(s), s.FirstFailure, s.LastFailure)
	}
	var learnt []time.Duration
	for _, n := range c.NodeNames() {
		p := c.Proxy(n)
		_, eps, _, _ := p.Lookup("default/web", "")
		var pods []string
		for _, e := range eps {
			pods = append(pods, e.Pod)
		}
		if !reflect.DeepEqual(pods, []string{"default/p1", "default/p3"}) {
			t.Errorf("%s routes to %v, want p1 and p3", n, pods)
		}
		learnt = append(learnt, since(p.ProgrammedAt()))
	}
	sort.Slice(learnt, func(i, j int) bool { return learnt[i] < learnt[j] })
	want := []time.Duration{63737061927, 64259911391, 65450628724}
	if !reflect.DeepEqual(learnt, want) {
		t.Errorf("proxies learnt at %v, want %v", learnt, want)
	}
	if s.LastFailure >= learnt[2] || s.LastFailure <= learnt[1] {
		t.Errorf("last failure at %v: want after the second proxy learnt (%v) and before the last did (%v)", s.LastFailure, learnt[1], learnt[2])
	}
}

// TestNodeCrashDependsOnPropagationDelay: n3 crashes at 1m with p3 on it; requests the
// proxies send to p3 fail (node-down) until its endpoint leaves the EndpointSlice and each
// proxy has learnt of it. The node lifecycle controller marks n3 NotReady at 1m50s and,
// as upstream's MarkPodsNotReady, its pods not ready, so p3 leaves the slice then. A 5 s
// propagation delay costs 158 more failed requests: 5 s × 100 req/s × the third of the
// picks that go to p3, give or take the draw.
func TestNodeCrashDependsOnPropagationDelay(t *testing.T) {
	tests := []struct {
		delay  time.Duration
		failed uint64
		last   time.Duration
	}{
		{0, 1665, time.Minute + 50*time.Second},
		{5 * time.Second, 1823, time.Minute + 54940*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.delay.String(), func(t *testing.T) {
			c := cluster(t, 3, proxy.Options{Delay: tt.delay}, proxy.Stream{Service: "default/web", Rate: 100, Start: 30 * time.Second})
			c.Apply(service("web", corev1.ServiceTypeClusterIP), webPod("p1", "n1", ""), webPod("p2", "n2", ""), webPod("p3", "n3", ""))
			c.Loop.After(time.Minute, func() { _ = c.CrashNode("n3") })
			c.RunFor(10 * time.Minute)
			s := c.Traffic().Stats()[0]
			if s.Requests != 57000 || s.Failed != tt.failed || s.FailedBy(proxy.CauseNodeDown) != tt.failed || s.FirstFailure != 60030*time.Millisecond || s.LastFailure != tt.last {
				t.Errorf("%d requests, %d failed (%s) from %v to %v; want 57000, %d node-down from 1m0.03s to %v", s.Requests, s.Failed, causes(s), s.FirstFailure, s.LastFailure, tt.failed, tt.last)
			}
			for _, n := range []string{"n1", "n2"} {
				if at := since(c.Proxy(n).ProgrammedAt()); at != 6*time.Minute+50015*time.Millisecond+tt.delay || s.LastFailure >= at {
					t.Errorf("%s last reprogrammed at %v, want 6m50.015s + %v (p3 deleted by taint eviction), after the last failure", n, at, tt.delay)
				}
			}
		})
	}
}

// TestTickDoesNotChangeOutcome: how often requests are processed changes nothing.
func TestTickDoesNotChangeOutcome(t *testing.T) {
	var got [][]uint64
	for _, tick := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, 7 * time.Second} {
		st := proxy.Stream{Service: "default/web", Rate: 300, Start: 30 * time.Second, Arrivals: proxy.ArrivalsPoisson, Clients: proxy.ClientsRandom}
		c := cluster(t, 3, proxy.Options{DelayJitter: 2 * time.Second}, st)
		c.Traffic().SetTick(tick)
		c.Apply(service("web", corev1.ServiceTypeClusterIP), webPod("p1", "n1", ""), webPod("p2", "n2", "readinessFailsAfter: 60s"), webPod("p3", "n3", ""))
		c.Loop.After(90*time.Second, func() { _ = c.CrashNode("n1") })
		c.RunFor(3 * time.Minute)
		s := c.Traffic().Stats()[0]
		got = append(got, []uint64{s.Requests, s.Failed, s.FailedBy(proxy.CauseNotReady), s.FailedBy(proxy.CauseNodeDown), uint64(s.Latency(0.99))})
	}
	if got[0][2] == 0 || got[0][3] == 0 {
		t.Fatalf("the run must fail requests both ways: %v", got[0])
	}
	if !reflect.DeepEqual(got[0], got[1]) || !reflect.DeepEqual(got[0], got[2]) {
		t.Errorf("outcomes differ with the tick: %v", got)
	}
}

// TestLoadBalancerHealthCheck: with externalTrafficPolicy Local and pods on n1 and n2
// only, a load balancer sends nothing to n3 (its health check node port fails), while
// clients spreading over the node ports lose the third of their requests that reach n3.
func TestLoadBalancerHealthCheck(t *testing.T) {
	lb := proxy.Stream{Service: "default/web", Rate: 90, Start: 30 * time.Second, Stop: 60 * time.Second, Via: proxy.ViaLoadBalancer}
	np := lb
	np.Via = proxy.ViaNodePort
	ci := lb
	ci.Via = proxy.ViaClusterIP
	c := cluster(t, 3, proxy.Options{}, lb, np, ci)
	svc := service("web", corev1.ServiceTypeLoadBalancer)
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	c.Apply(svc, webPod("p1", "n1", ""), webPod("p2", "n2", ""))
	c.RunFor(2 * time.Minute)
	st := c.Traffic().Stats()
	if s := st[0]; s.Requests != 2700 || s.Failed != 0 {
		t.Errorf("load balancer: %d requests, %d failed (%s); want 2700, none", s.Requests, s.Failed, causes(s))
	}
	if s := st[1]; s.Requests != 2700 || s.Failed != 900 || s.FailedBy(proxy.CauseNoEndpoints) != 900 {
		t.Errorf("node ports: %d requests, %d failed (%s); want 2700, 900 no-endpoints", s.Requests, s.Failed, causes(s))
	}
	if s := st[2]; s.Failed != 0 {
		t.Errorf("cluster IP (internal policy Cluster): %d failed (%s), want none", s.Failed, causes(s))
	}
}

// TestServingTerminatingFallback: the only pod is deleted at 1m with a 10 s preStop
// hook. Its endpoint turns terminating (not ready, still serving), and with no ready
// endpoint left the proxies keep sending to it (upstream's ProxyTerminatingEndpoints), so
// nothing fails until SIGTERM (1m10.005s, the kubelet having heard of the deletion 5 ms
// late); the request at 1m10.1s is refused, and once the exit has made the endpoint not
// serving either the rules reject every request (no endpoints).
func TestServingTerminatingFallback(t *testing.T) {
	c := cluster(t, 2, proxy.Options{}, proxy.Stream{Service: "default/web", Rate: 10, Start: 30 * time.Second, Stop: 2 * time.Minute})
	p := webPod("p1", "n1", "")
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 10}}}
	c.Apply(service("web", corev1.ServiceTypeClusterIP), p)
	c.Loop.After(time.Minute, func() {
		if _, err := c.Admin.Delete("pods", "default", "p1", apiserver.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	})
	c.RunFor(3 * time.Minute)
	s := c.Traffic().Stats()[0]
	if s.Requests != 900 || s.Failed != 499 || s.FailedBy(proxy.CauseRefused) != 1 || s.FailedBy(proxy.CauseNoEndpoints) != 498 || s.FirstFailure != 70100*time.Millisecond {
		t.Errorf("%d requests, %d failed (%s) from %v; want 900, 1 refused and 498 no-endpoints from 1m10.1s", s.Requests, s.Failed, causes(s), s.FirstFailure)
	}
}

// TestPartition: n3 is cut off from the control plane and from the other nodes at 1m.
// Requests between n3 and the others fail (unreachable): n3's
// clients reach only p3, the others' lose the third they send to p3 — about 2/3 × 1/3 +
// 1/3 × 2/3 of the requests from 1m — until n3's silent kubelet makes the node lifecycle
// controller mark n3 NotReady and p3 not ready at 1m50s: the other proxies then drop p3,
// while n3's, cut off, keeps its stale view and its clients keep failing to reach p1 and p2.
// Cut through the API server alone, the traffic is not told before the cut: the requests
// of the tick it falls in (since 59.9 s) are judged after it, as cut off.
func TestPartition(t *testing.T) {
	tests := []struct {
		name      string
		announced bool
		failed    uint64
		first     time.Duration
	}{
		{"announced", true, 3408, time.Minute},
		{"API server only", false, 3412, 59922222222},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cluster(t, 3, proxy.Options{}, proxy.Stream{Service: "default/web", Rate: 90, Start: 30 * time.Second, Stop: 3 * time.Minute})
			c.Apply(service("web", corev1.ServiceTypeClusterIP), webPod("p1", "n1", ""), webPod("p2", "n2", ""), webPod("p3", "n3", ""))
			c.Loop.After(time.Minute, func() {
				if tt.announced {
					c.Reality().SetPartitioned("n3", true)
				}
				c.API.CutOff("n3")
			})
			c.RunFor(3 * time.Minute)
			s := c.Traffic().Stats()[0]
			if s.Requests != 13500 || s.Failed != tt.failed || s.FailedBy(proxy.CauseUnreachable) != tt.failed || s.FirstFailure != tt.first {
				t.Errorf("%d requests, %d failed (%s) from %v; want 13500, %d unreachable from %v", s.Requests, s.Failed, causes(s), s.FirstFailure, tt.failed, tt.first)
			}
		})
	}
}
