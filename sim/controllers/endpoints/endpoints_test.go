//lint:file-ignore SA1019 the legacy Endpoints API is what this controller writes

package endpoints_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/endpoints"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointslicetest"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointsliceutil"
)

func start(t *testing.T) *endpointslicetest.Env {
	e := endpointslicetest.New(t)
	c := endpoints.New(e.Loop, e.Log, e.CM, e.Informer("services"), e.Informer("pods"), e.Informer("endpoints"), endpoints.Options{})
	e.Start()
	c.Start()
	e.AddNode("n1", "zone-a")
	return e
}

// addrs summarises subsets as "ready=[ip...] notReady=[ip...] ports=[...]" per subset.
func addrs(ep *corev1.Endpoints) string {
	if ep == nil {
		return "<none>"
	}
	out := ""
	for _, ss := range ep.Subsets {
		var r, n, p []string
		for _, a := range ss.Addresses {
			r = append(r, a.IP)
		}
		for _, a := range ss.NotReadyAddresses {
			n = append(n, a.IP)
		}
		for _, port := range ss.Ports {
			p = append(p, fmt.Sprintf("%s:%d", port.Name, port.Port))
		}
		out += fmt.Sprintf("ready=%v notReady=%v ports=%v;", r, n, p)
	}
	return out
}

// TestSubsets: ready pods are addresses, not-ready ones notReadyAddresses, terminating ones
// left out unless not-ready addresses are published.
func TestSubsets(t *testing.T) {
	cases := []struct {
		name                        string
		ready, terminating, publish bool
		noIP                        bool
		want                        string
	}{
		{name: "ready", ready: true, want: "ready=[10.244.0.5] notReady=[] ports=[http:8080];"},
		{name: "not ready", want: "ready=[] notReady=[10.244.0.5] ports=[http:8080];"},
		{name: "terminating", ready: true, terminating: true, want: ""},
		{name: "terminating published", ready: true, terminating: true, publish: true, want: "ready=[10.244.0.5] notReady=[] ports=[http:8080];"},
		{name: "not ready published", publish: true, want: "ready=[10.244.0.5] notReady=[] ports=[http:8080];"},
		{name: "no IP", ready: true, noIP: true, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			svc := endpointslicetest.Service("web", "web", endpointslicetest.Port("http", intstr.FromString("http")))
			svc.Spec.PublishNotReadyAddresses = tc.publish
			svc = e.AddService(svc)
			ip := "10.244.0.5"
			if tc.noIP {
				ip = ""
			}
			e.AddPod(endpointslicetest.Pod("web-1", "web", "n1"), ip, tc.ready)
			if tc.terminating {
				e.Terminate("web-1")
			}
			e.Run(time.Second)
			ep := e.Endpoints("web")
			if got := addrs(ep); got != tc.want {
				t.Fatalf("subsets %q, want %q", got, tc.want)
			}
			if ep.Labels["team"] != "a" {
				t.Fatalf("labels %v", ep.Labels)
			}
			if tc.want != "" {
				a := append(ep.Subsets[0].Addresses, ep.Subsets[0].NotReadyAddresses...)[0]
				if *a.NodeName != "n1" || a.TargetRef.Name != "web-1" || a.TargetRef.Kind != "Pod" {
					t.Fatalf("address %+v", a)
				}
			}
			// Created on the Service's first sync: the trigger time is its creation.
			if got, want := ep.Annotations[corev1.EndpointsLastChangeTriggerTime], endpointsliceutil.FormatTriggerTime(svc.CreationTimestamp.Time); got != want {
				t.Fatalf("trigger time %q, want %q", got, want)
			}
		})
	}
}

// TestReadinessFlip: a pod turning not ready moves to notReadyAddresses one watch latency
// after the status write, and the trigger time is the Ready condition's transition.
func TestReadinessFlip(t *testing.T) {
	e := start(t)
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	e.AddPod(endpointslicetest.Pod("b", "web", "n1"), "10.244.0.3", true)
	e.Run(10 * time.Second)
	if got := addrs(e.Endpoints("web")); got != "ready=[10.244.0.2 10.244.0.3] notReady=[] ports=[:8080];" {
		t.Fatalf("before: %s", got)
	}
	flip := e.Loop.Now()
	e.SetPodStatus("a", "10.244.0.2", false)
	e.Run(apiserver.DefaultWatchLatency - time.Nanosecond)
	if got := addrs(e.Endpoints("web")); got != "ready=[10.244.0.2 10.244.0.3] notReady=[] ports=[:8080];" {
		t.Fatalf("updated before the watch latency: %s", got)
	}
	e.Run(time.Nanosecond)
	ep := e.Endpoints("web")
	if got := addrs(ep); got != "ready=[10.244.0.3] notReady=[10.244.0.2] ports=[:8080];" {
		t.Fatalf("after: %s", got)
	}
	if got := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != endpointsliceutil.FormatTriggerTime(flip) {
		t.Fatalf("trigger time %s, want %s", got, flip.Format(time.RFC3339Nano))
	}
}

// TestNamedTargetPort: a named targetPort resolves per pod into one subset per port number.
func TestNamedTargetPort(t *testing.T) {
	e := start(t)
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("http", intstr.FromString("http"))))
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	b := endpointslicetest.Pod("b", "web", "n1")
	b.Spec.Containers[0].Ports[0].ContainerPort = 8081
	e.AddPod(b, "10.244.0.3", true)
	c := endpointslicetest.Pod("c", "web", "n1")
	c.Spec.Containers[0].Ports = nil // no port named http: not an endpoint
	e.AddPod(c, "10.244.0.4", true)
	e.Run(time.Second)
	got := addrs(e.Endpoints("web"))
	want1 := "ready=[10.244.0.2] notReady=[] ports=[http:8080];ready=[10.244.0.3] notReady=[] ports=[http:8081];"
	want2 := "ready=[10.244.0.3] notReady=[] ports=[http:8081];ready=[10.244.0.2] notReady=[] ports=[http:8080];"
	if got != want1 && got != want2 {
		t.Fatalf("subsets %s", got)
	}
}

// TestTruncation: beyond 1000 addresses the object is truncated — not-ready addresses
// first — and annotated over-capacity; back under, the annotation goes.
func TestTruncation(t *testing.T) {
	cases := []struct {
		name            string
		ready, notReady int
		wantReady       int
		wantNotReady    int
	}{
		{name: "at capacity", ready: 1000, wantReady: 1000},
		{name: "ready over capacity", ready: 1010, notReady: 5, wantReady: 1000},
		{name: "not ready cut first", ready: 990, notReady: 30, wantReady: 990, wantNotReady: 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
			for i := 0; i < tc.ready+tc.notReady; i++ {
				e.AddPod(endpointslicetest.Pod(fmt.Sprintf("p%04d", i), "web", "n1"), fmt.Sprintf("10.244.%d.%d", i/250, i%250+1), i < tc.ready)
			}
			e.Run(10 * time.Second)
			ep := e.Endpoints("web")
			r, n := 0, 0
			for _, ss := range ep.Subsets {
				r += len(ss.Addresses)
				n += len(ss.NotReadyAddresses)
			}
			over := tc.ready+tc.notReady > endpoints.MaxCapacity
			if r != tc.wantReady || n != tc.wantNotReady || (ep.Annotations[corev1.EndpointsOverCapacity] == endpoints.Truncated) != over {
				t.Fatalf("ready %d not ready %d annotations %v, want %d/%d over=%v", r, n, ep.Annotations, tc.wantReady, tc.wantNotReady, over)
			}
			if !over {
				return
			}
			for i := 0; i < tc.ready+tc.notReady-endpoints.MaxCapacity; i++ {
				if _, err := e.Admin.Delete("pods", "default", fmt.Sprintf("p%04d", i), apiserver.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
					t.Fatal(err)
				}
			}
			e.Run(10 * time.Second)
			if ep := e.Endpoints("web"); ep.Annotations[corev1.EndpointsOverCapacity] != "" {
				t.Fatalf("still annotated at capacity: %v", ep.Annotations)
			}
		})
	}
}

// TestServiceDeletion: the controller deletes a deleted Service's Endpoints, and recreates
// Endpoints someone deletes while the Service exists.
func TestServiceDeletion(t *testing.T) {
	e := start(t)
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	e.Run(time.Second)
	if _, err := e.Admin.Delete("endpoints", "default", "web", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Run(time.Second)
	if got := addrs(e.Endpoints("web")); got != "ready=[10.244.0.2] notReady=[] ports=[:8080];" {
		t.Fatalf("not recreated: %s", got)
	}
	if _, err := e.Admin.Delete("services", "default", "web", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Run(time.Second)
	if ep := e.Endpoints("web"); ep != nil || e.Count("EndpointsDeleted") != 1 {
		t.Fatalf("Endpoints left after the Service's deletion (%d deletes)", e.Count("EndpointsDeleted"))
	}
}

// TestNoSpuriousWrites: pods arriving while the controller's own create is in flight make
// no failed create (no FailedToCreateEndpoint event), and an unchanged sync writes nothing.
func TestNoSpuriousWrites(t *testing.T) {
	e := start(t)
	for i := 0; i < 3; i++ {
		e.AddPod(endpointslicetest.Pod(fmt.Sprintf("p%d", i), "web", "n1"), fmt.Sprintf("10.244.0.%d", i+2), false)
	}
	e.Run(time.Second)
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.Run(apiserver.DefaultWatchLatency - time.Millisecond)
	e.SetPodStatus("p0", "10.244.0.2", true)
	e.Run(time.Minute)
	if e.Count("FailedToCreateEndpoint") != 0 || e.Count("EndpointsCreated") != 1 || e.Count("EndpointsUpdated") != 1 {
		t.Fatalf("%d failed creates, %d creates, %d updates", e.Count("FailedToCreateEndpoint"), e.Count("EndpointsCreated"), e.Count("EndpointsUpdated"))
	}
	// One port, so one subset holding ready and not-ready addresses, as upstream repacks.
	if got := addrs(e.Endpoints("web")); got != "ready=[10.244.0.2] notReady=[10.244.0.3 10.244.0.4] ports=[:8080];" {
		t.Fatalf("subsets %s", got)
	}
}
