package sim_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestServiceEndpoints: the assembled cluster gives nodes pod CIDRs (node IPAM), pods IPs
// from them (kubelet), and a Service an EndpointSlice and Endpoints with the ready pods.
func TestServiceEndpoints(t *testing.T) {
	c := simtest.New(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"))
	for _, name := range []string{"a", "b"} {
		p := simtest.Pod(name, "100m", "64Mi")
		p.Labels["app"] = "web"
		p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: map[string]string{"a": "n1", "b": "n2"}[name]}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		c.Apply(p)
	}
	c.Apply(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}})
	c.RunFor(10 * time.Second)

	for node, prefix := range map[string]string{"n1": "10.244.0.", "n2": "10.244.1."} {
		if cidr := c.Node(node).Spec.PodCIDR; cidr != prefix+"0/24" {
			t.Errorf("%s podCIDR %q, want %s0/24", node, cidr, prefix)
		}
	}
	ips := map[string]bool{}
	for _, name := range []string{"a", "b"} {
		p := c.Pod(name)
		if !strings.HasPrefix(p.Status.PodIP, map[string]string{"a": "10.244.0.", "b": "10.244.1."}[name]) {
			t.Errorf("pod %s on %s has IP %q", name, p.Spec.NodeName, p.Status.PodIP)
		}
		ips[p.Status.PodIP] = true
	}
	res, err := c.Admin.List("endpointslices", "default", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 {
		t.Fatalf("%d EndpointSlices, want 1", len(res.Items))
	}
	slice := res.Items[0].(*discoveryv1.EndpointSlice)
	if len(slice.Endpoints) != 2 || len(slice.Ports) != 1 || *slice.Ports[0].Port != 8080 {
		t.Fatalf("slice %+v", slice)
	}
	for _, ep := range slice.Endpoints {
		if !ips[ep.Addresses[0]] || ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
			t.Errorf("endpoint %+v", ep)
		}
	}
	obj, err := c.Admin.Get("endpoints", "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the legacy Endpoints are still maintained in Kubernetes 1.34
	if eps := obj.(*corev1.Endpoints); len(eps.Subsets) != 1 || len(eps.Subsets[0].Addresses) != 2 {
		t.Errorf("endpoints %+v", eps.Subsets)
	}
}
