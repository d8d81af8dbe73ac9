package endpointslice_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointslicetest"
)

func start(t *testing.T, opts endpointslice.Options) *endpointslicetest.Env {
	e := endpointslicetest.New(t)
	endpointslice.New(e.Loop, e.Log, e.CM, e.Informer("services"), e.Informer("pods"), e.Informer("endpointslices"), e.Informer("nodes"), opts)
	e.Start()
	e.AddNode("n1", "zone-a")
	return e
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestEndpointConditions: ready, serving and terminating as upstream computes them, and the
// slice's metadata, ports and topology.
func TestEndpointConditions(t *testing.T) {
	cases := []struct {
		name                        string
		ready, terminating, publish bool
		noIP                        bool
		want                        [3]bool // ready, serving, terminating
	}{
		{name: "ready", ready: true, want: [3]bool{true, true, false}},
		{name: "not ready", want: [3]bool{false, false, false}},
		{name: "terminating ready", ready: true, terminating: true, want: [3]bool{false, true, true}},
		{name: "terminating not ready", terminating: true, want: [3]bool{false, false, true}},
		{name: "publishNotReadyAddresses", publish: true, want: [3]bool{true, false, false}},
		{name: "publishNotReadyAddresses terminating", publish: true, ready: true, terminating: true, want: [3]bool{true, true, true}},
		{name: "no IP", noIP: true, ready: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, endpointslice.Options{})
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
			slices := e.Slices("web")
			if len(slices) != 1 {
				t.Fatalf("%d slices, want 1", len(slices))
			}
			s := slices[0]
			if s.AddressType != discoveryv1.AddressTypeIPv4 || s.GenerateName != "web-" ||
				s.Labels[discoveryv1.LabelManagedBy] != endpointslice.ControllerName || s.Labels["team"] != "a" {
				t.Fatalf("slice meta: %s %q %v", s.AddressType, s.GenerateName, s.Labels)
			}
			ref := s.OwnerReferences
			if len(ref) != 1 || ref[0].Kind != "Service" || ref[0].APIVersion != "v1" || ref[0].UID != svc.UID || !*ref[0].Controller || !*ref[0].BlockOwnerDeletion {
				t.Fatalf("owner %+v", ref)
			}
			if tc.noIP {
				if len(s.Endpoints) != 0 || len(s.Ports) != 0 {
					t.Fatalf("placeholder has %d endpoints, %d ports", len(s.Endpoints), len(s.Ports))
				}
				return
			}
			if len(s.Endpoints) != 1 || len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" {
				t.Fatalf("endpoints %+v ports %+v", s.Endpoints, s.Ports)
			}
			ep := s.Endpoints[0]
			got := [3]bool{*ep.Conditions.Ready, *ep.Conditions.Serving, *ep.Conditions.Terminating}
			if got != tc.want {
				t.Fatalf("conditions ready/serving/terminating = %v, want %v", got, tc.want)
			}
			if ep.Addresses[0] != "10.244.0.5" || deref(ep.NodeName) != "n1" || deref(ep.Zone) != "zone-a" ||
				ep.TargetRef.Kind != "Pod" || ep.TargetRef.Name != "web-1" {
				t.Fatalf("endpoint %+v", ep)
			}
			if s.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
				t.Fatal("no last-change-trigger-time annotation")
			}
		})
	}
}

// TestManyPods: 250 pods make 3 slices of 100, 100 and 50, created once each; removing pods
// and adding others updates the existing slices in place.
func TestManyPods(t *testing.T) {
	e := start(t, endpointslice.Options{})
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	for i := 0; i < 250; i++ {
		e.AddPod(endpointslicetest.Pod(fmt.Sprintf("web-%03d", i), "web", "n1"), fmt.Sprintf("10.244.%d.%d", i/200, i%200+1), true)
	}
	e.Run(10 * time.Second)
	sizes := func() []int {
		var out []int
		for _, s := range e.Slices("web") {
			out = append(out, len(s.Endpoints))
		}
		sort.Ints(out)
		return out
	}
	total := func() int {
		n := 0
		for _, s := range sizes() {
			n += s
		}
		return n
	}
	if got := sizes(); fmt.Sprint(got) != "[50 100 100]" {
		t.Fatalf("slice sizes %v, want 100, 100 and 50", got)
	}
	if n := e.Count("EndpointSliceCreated"); n != 3 {
		t.Fatalf("%d slices created, want 3 (one placeholder update + 2 creates, or 3 creates)", n)
	}
	// Each pod appears once.
	seen := map[string]bool{}
	for _, s := range e.Slices("web") {
		for _, ep := range s.Endpoints {
			if seen[ep.TargetRef.Name] {
				t.Fatalf("pod %s twice", ep.TargetRef.Name)
			}
			seen[ep.TargetRef.Name] = true
		}
	}

	for i := 0; i < 30; i++ {
		if _, err := e.Admin.Delete("pods", "default", fmt.Sprintf("web-%03d", i), apiserver.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
	}
	e.Run(10 * time.Second)
	if fmt.Sprint(sizes()) != "[50 70 100]" || e.Count("EndpointSliceCreated") != 3 {
		t.Fatalf("after deleting 30: sizes %v, %d creates", sizes(), e.Count("EndpointSliceCreated"))
	}
	for i := 250; i < 270; i++ {
		e.AddPod(endpointslicetest.Pod(fmt.Sprintf("web-%03d", i), "web", "n1"), fmt.Sprintf("10.244.2.%d", i-249), true)
	}
	e.Run(10 * time.Second)
	// The 20 new endpoints go into the unchanged slice they fill closest to full (70 → 90).
	if fmt.Sprint(sizes()) != "[50 90 100]" || total() != 240 || e.Count("EndpointSliceCreated") != 3 {
		t.Fatalf("after adding 20: sizes %v, %d creates", sizes(), e.Count("EndpointSliceCreated"))
	}
}

// TestNamedTargetPort: a named targetPort resolves per pod; pods mapping it to different
// numbers get one slice per mapping, and a pod without the port gets a slice with no ports.
func TestNamedTargetPort(t *testing.T) {
	e := start(t, endpointslice.Options{})
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("http", intstr.FromString("http"))))
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	b := endpointslicetest.Pod("b", "web", "n1")
	b.Spec.Containers[0].Ports[0].ContainerPort = 8081
	e.AddPod(b, "10.244.0.3", true)
	c := endpointslicetest.Pod("c", "web", "n1")
	c.Spec.Containers[0].Ports = nil
	e.AddPod(c, "10.244.0.4", true)
	e.Run(5 * time.Second)
	byPort := map[string]string{}
	for _, s := range e.Slices("web") {
		port := "none"
		if len(s.Ports) == 1 {
			port = fmt.Sprint(*s.Ports[0].Port)
		}
		for _, ep := range s.Endpoints {
			byPort[ep.TargetRef.Name] = port
		}
	}
	want := map[string]string{"a": "8080", "b": "8081", "c": "none"}
	if fmt.Sprint(byPort) != fmt.Sprint(want) || len(e.Slices("web")) != 3 {
		t.Fatalf("pods by port %v (%d slices), want %v", byPort, len(e.Slices("web")), want)
	}
}

// TestReadinessFlip: a readiness change reaches the slice one watch latency after the
// kubelet's status write, and only once.
func TestReadinessFlip(t *testing.T) {
	cases := []struct {
		name  string
		batch time.Duration
		want  time.Duration // after the first flip
	}{
		{name: "no batching", want: apiserver.DefaultWatchLatency},
		{name: "batch 1s", batch: time.Second, want: apiserver.DefaultWatchLatency + time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, endpointslice.Options{EndpointUpdatesBatchPeriod: tc.batch})
			e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
			e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
			e.AddPod(endpointslicetest.Pod("b", "web", "n1"), "10.244.0.3", true)
			e.Run(10 * time.Second)
			flip := e.Loop.Elapsed()
			e.SetPodStatus("a", "10.244.0.2", false)
			e.Run(200 * time.Millisecond)
			e.SetPodStatus("b", "10.244.0.3", false)
			e.Run(10 * time.Second)
			var at []time.Duration
			for _, a := range e.Actions {
				if a.Reason == "EndpointSliceUpdated" && a.At > flip {
					at = append(at, a.At-flip)
				}
			}
			if tc.batch == 0 {
				if len(at) != 2 || at[0] != tc.want || at[1] != 200*time.Millisecond+tc.want {
					t.Fatalf("updates at %v after the flip, want %v and %v", at, tc.want, 200*time.Millisecond+tc.want)
				}
			} else if len(at) != 1 || at[0] != tc.want {
				t.Fatalf("updates at %v after the flip, want one at %v (batched)", at, tc.want)
			}
			for _, ep := range e.Slices("web")[0].Endpoints {
				if *ep.Conditions.Ready || *ep.Conditions.Serving {
					t.Fatalf("%s still ready", ep.TargetRef.Name)
				}
			}
		})
	}
}

// TestPlaceholderReplacedInPlace: a Service without endpoints has one empty slice, which is
// updated (not replaced) when the first endpoint appears, and emptied back when it goes.
func TestPlaceholderReplacedInPlace(t *testing.T) {
	e := start(t, endpointslice.Options{})
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.Run(time.Second)
	s := e.Slices("web")
	if len(s) != 1 || len(s[0].Endpoints) != 0 {
		t.Fatalf("want one placeholder, got %d slices", len(s))
	}
	name := s[0].Name
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	e.Run(time.Second)
	s = e.Slices("web")
	if len(s) != 1 || s[0].Name != name || len(s[0].Endpoints) != 1 || e.Count("EndpointSliceCreated") != 1 || e.Count("EndpointSliceDeleted") != 0 {
		t.Fatalf("slices %d (%s, want %s), %d creates, %d deletes", len(s), s[0].Name, name, e.Count("EndpointSliceCreated"), e.Count("EndpointSliceDeleted"))
	}
	if _, err := e.Admin.Delete("pods", "default", "a", apiserver.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	e.Run(time.Second)
	s = e.Slices("web")
	if len(s) != 1 || s[0].Name != name || len(s[0].Endpoints) != 0 || len(s[0].Ports) != 0 {
		t.Fatalf("after the pod left: %d slices", len(s))
	}
}

// TestServiceDeletion: the controller leaves a deleted Service's slices to the garbage
// collector (they are owned by the Service) and does not recreate a slice someone deletes
// while the Service is gone; a slice deleted behind its back while the Service exists is
// recreated.
func TestServiceDeletion(t *testing.T) {
	e := start(t, endpointslice.Options{})
	svc := e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.AddPod(endpointslicetest.Pod("a", "web", "n1"), "10.244.0.2", true)
	e.Run(time.Second)
	s := e.Slices("web")[0]
	if _, err := e.Admin.Delete("endpointslices", "default", s.Name, apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Run(endpointslice.EndpointSliceChangeMinSyncDelay + time.Second)
	if got := e.Slices("web"); len(got) != 1 || got[0].Name == s.Name || len(got[0].Endpoints) != 1 {
		t.Fatalf("slice deleted behind the controller's back not recreated: %d slices", len(got))
	}
	if _, err := e.Admin.Delete("services", "default", "web", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	writes := e.Count("EndpointSliceCreated") + e.Count("EndpointSliceUpdated") + e.Count("EndpointSliceDeleted")
	e.Run(time.Minute)
	got := e.Slices("web")
	if len(got) != 1 || e.Count("EndpointSliceCreated")+e.Count("EndpointSliceUpdated")+e.Count("EndpointSliceDeleted") != writes {
		t.Fatalf("after the Service's deletion: %d slices, writes %d → %d", len(got), writes, e.Count("EndpointSliceCreated")+e.Count("EndpointSliceUpdated")+e.Count("EndpointSliceDeleted"))
	}
	if ref := got[0].OwnerReferences; len(ref) != 1 || ref[0].UID != svc.UID || !*ref[0].Controller {
		t.Fatalf("slice not owned by the Service: %+v", ref)
	}
}

// TestNoDuplicateCreates: a pod change written before the controller's own slice write but
// seen after it (the cache lags by one watch latency) does not make a second slice: the
// sync finds the cache stale and retries after SyncBackOff.
func TestNoDuplicateCreates(t *testing.T) {
	e := start(t, endpointslice.Options{})
	for i := 0; i < 3; i++ {
		e.AddPod(endpointslicetest.Pod(fmt.Sprintf("p%d", i), "web", "n1"), fmt.Sprintf("10.244.0.%d", i+2), false)
	}
	e.Run(time.Second)
	t0 := e.Loop.Elapsed()
	e.AddService(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))))
	e.Run(apiserver.DefaultWatchLatency - time.Millisecond)
	e.SetPodStatus("p0", "10.244.0.2", true) // reaches the cache after the slice is written
	e.Run(30 * time.Second)
	s := e.Slices("web")
	if len(s) != 1 || len(s[0].Endpoints) != 3 || e.Count("EndpointSliceCreated") != 1 || !*s[0].Endpoints[0].Conditions.Ready {
		t.Fatalf("%d slices, %d creates", len(s), e.Count("EndpointSliceCreated"))
	}
	var updates []time.Duration
	for _, a := range e.Actions {
		if a.Reason == "EndpointSliceUpdated" {
			updates = append(updates, a.At-t0)
		}
	}
	// Created at 5ms; the pod event at 9ms finds the cache stale; retried 1s later.
	if want := 2*apiserver.DefaultWatchLatency - time.Millisecond + endpointslice.SyncBackOff; len(updates) != 1 || updates[0] != want {
		t.Fatalf("updates at %v, want one at %v", updates, want)
	}
}
