package endpointslice_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointslicetest"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestEndToEnd: on a full cluster (scheduler, kubelets, ReplicaSet controller) the pods a
// ReplicaSet runs become ready endpoints of the Service selecting them, and a deleted pod
// leaves the slice.
func TestEndToEnd(t *testing.T) {
	// The kubelet takes its pod IPs from the podCIDR it registers with (until it follows the
	// one the node IPAM controller assigns later), so the nodes come with theirs.
	n1, n2 := simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi")
	n1.Spec.PodCIDR, n2.Spec.PodCIDR = "10.244.0.0/24", "10.244.1.0/24"
	c := simtest.New(t, n1, n2)
	cm := c.API.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	infs := map[string]*informer.Informer{}
	for _, r := range []string{"services", "pods", "endpointslices", "nodes"} {
		infs[r] = informer.New(cm, r, "", apiserver.Filter{})
	}
	endpointslice.New(c.Loop, c.Log, cm, infs["services"], infs["pods"], infs["endpointslices"], infs["nodes"], endpointslice.Options{})
	// The node IPAM controller keeps the nodes' blocks (marking them used).
	if _, err := nodeipam.New(c.Loop, c.Log, cm, infs["nodes"], nodeipam.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"services", "pods", "endpointslices", "nodes"} {
		if err := infs[r].Start(); err != nil {
			t.Fatal(err)
		}
	}
	replicas := int32(3)
	p := simtest.Pod("", "100m", "64Mi")
	c.Apply(endpointslicetest.Service("web", "web", endpointslicetest.Port("", intstr.FromInt32(8080))),
		&appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: p.Spec}},
		})
	c.RunFor(time.Minute)
	ready := func() (n int, names map[string]bool) {
		names = map[string]bool{}
		res, err := c.Admin.List("endpointslices", "default", apiserver.Filter{}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Items {
			for _, ep := range o.(*discoveryv1.EndpointSlice).Endpoints {
				names[ep.TargetRef.Name] = true
				if *ep.Conditions.Ready {
					n++
				}
			}
		}
		return n, names
	}
	if n, names := ready(); n != 3 || len(names) != 3 {
		t.Fatalf("%d ready endpoints of %d, want 3", n, len(names))
	}
	victim := c.Pods()[0].Name
	if _, err := c.Admin.Delete("pods", "default", victim, apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunFor(time.Minute)
	if n, names := ready(); n != 3 || names[victim] {
		t.Fatalf("after deleting %s: %d ready, endpoints %v", victim, n, names)
	}
}
