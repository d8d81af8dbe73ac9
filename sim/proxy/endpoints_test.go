package proxy

import (
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// ep is an endpoint on node with conditions r(eady), s(erving), t(erminating).
func ep(addr, node string, ready, serving, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, NodeName: &node,
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-" + addr}}
}

func slice(name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}}}
}

func addrs(eps []Endpoint) []string {
	out := []string{}
	for _, e := range eps {
		out = append(out, e.Address)
	}
	return out
}

// TestCategorize: Ready endpoints when there are any; otherwise the serving terminating
// ones (never the not-serving terminating ones), separately for Cluster and Local policy,
// as upstream's CategorizeEndpoints.
func TestCategorize(t *testing.T) {
	tests := []struct {
		name         string
		eps          []discoveryv1.Endpoint
		cluster, loc []string
		hasAnyUsable bool
	}{
		{"ready only", []discoveryv1.Endpoint{ep("10.0.0.2", "n1", true, true, false), ep("10.0.0.1", "n2", true, true, false)}, []string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.2"}, true},
		{"terminating left out while some are ready", []discoveryv1.Endpoint{ep("10.0.0.1", "n1", false, true, true), ep("10.0.0.2", "n2", true, true, false)}, []string{"10.0.0.2"}, []string{"10.0.0.1"}, true},
		{"falls back to serving terminating", []discoveryv1.Endpoint{ep("10.0.0.1", "n1", false, true, true), ep("10.0.0.2", "n2", false, false, true), ep("10.0.0.3", "n2", false, false, false)}, []string{"10.0.0.1"}, []string{"10.0.0.1"}, true},
		{"nothing usable", []discoveryv1.Endpoint{ep("10.0.0.2", "n2", false, false, true), ep("10.0.0.3", "n1", false, false, false)}, []string{}, []string{}, false},
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := buildService(svc, []*discoveryv1.EndpointSlice{slice("web-a", tt.eps...)}, "n1")
			pt := tab.port("")
			if got := addrs(pt.cluster); !reflect.DeepEqual(got, tt.cluster) {
				t.Errorf("cluster endpoints %v, want %v", got, tt.cluster)
			}
			if got := addrs(pt.local); !reflect.DeepEqual(got, tt.loc) {
				t.Errorf("local endpoints %v, want %v", got, tt.loc)
			}
			if pt.hasAny != tt.hasAnyUsable {
				t.Errorf("hasAny %v, want %v", pt.hasAny, tt.hasAnyUsable)
			}
		})
	}
}

// TestBuildService: endpoints are merged across slices by address (the first slice in
// name order wins), unset conditions read as ready and serving, ports match by name, and
// the port is found by name, number or first.
func TestBuildService(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}}}}
	unset := discoveryv1.Endpoint{Addresses: []string{"10.0.0.9"}}
	a := slice("web-a", ep("10.0.0.1", "n1", false, false, false), unset)
	b := slice("web-b", ep("10.0.0.1", "n1", true, true, false))
	tab := buildService(svc, []*discoveryv1.EndpointSlice{a, b}, "n1")
	if got := addrs(tab.port("http").cluster); !reflect.DeepEqual(got, []string{"10.0.0.9"}) {
		t.Errorf("http endpoints %v, want only the unset-conditions one (the duplicate keeps web-a's not-ready copy)", got)
	}
	if tab.port("80") != tab.port("http") || tab.port("") != tab.port("http") || tab.port("9090") != tab.port("metrics") || tab.port("8080") != nil {
		t.Error("port lookup by name, number or first")
	}
	if got := tab.port("metrics").cluster; len(got) != 0 {
		t.Errorf("metrics has no slice port, got endpoints %v", addrs(got))
	}
}

// TestRoute: traffic policies and Service types decide which endpoints a request may get.
func TestRoute(t *testing.T) {
	local := corev1.ServiceInternalTrafficPolicyLocal
	tests := []struct {
		name  string
		typ   corev1.ServiceType
		etp   corev1.ServiceExternalTrafficPolicy
		itp   *corev1.ServiceInternalTrafficPolicy
		via   Via
		node  string
		want  string
		cause Cause
	}{
		{"cluster IP spreads", corev1.ServiceTypeClusterIP, "", nil, ViaClusterIP, "n3", "", ""},
		{"internal Local, local endpoint", corev1.ServiceTypeClusterIP, "", &local, ViaClusterIP, "n1", "10.0.0.1", ""},
		{"internal Local, none local", corev1.ServiceTypeClusterIP, "", &local, ViaClusterIP, "n3", "", CauseNoEndpoints},
		{"node port on a ClusterIP Service", corev1.ServiceTypeClusterIP, "", nil, ViaNodePort, "n1", "", CauseNoService},
		{"load balancer on a NodePort Service", corev1.ServiceTypeNodePort, corev1.ServiceExternalTrafficPolicyCluster, nil, ViaLoadBalancer, "n1", "", CauseNoService},
		{"external Local at a node with one", corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyLocal, nil, ViaLoadBalancer, "n2", "10.0.0.2", ""},
		{"external Local at a node without", corev1.ServiceTypeNodePort, corev1.ServiceExternalTrafficPolicyLocal, nil, ViaNodePort, "n3", "", CauseNoEndpoints},
		{"external Local ignores internal policy", corev1.ServiceTypeNodePort, corev1.ServiceExternalTrafficPolicyCluster, &local, ViaNodePort, "n3", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
				Spec: corev1.ServiceSpec{Type: tt.typ, ExternalTrafficPolicy: tt.etp, InternalTrafficPolicy: tt.itp,
					Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
			p := &Proxy{node: tt.node, up: true, table: map[string]*serviceTable{
				"default/web": buildService(svc, []*discoveryv1.EndpointSlice{slice("web-a", ep("10.0.0.1", "n1", true, true, false), ep("10.0.0.2", "n2", true, true, false))}, tt.node),
			}}
			got, cause := p.Route("default/web", "", tt.via, rand.New(rand.NewPCG(1, 2)))
			if cause != tt.cause || tt.want != "" && got.Address != tt.want {
				t.Errorf("routed to %q (cause %q), want %q (cause %q)", got.Address, cause, tt.want, tt.cause)
			}
			if _, c := p.Route("default/other", "", tt.via, nil); c != CauseNoService {
				t.Errorf("unknown Service: cause %q", c)
			}
		})
	}
}
