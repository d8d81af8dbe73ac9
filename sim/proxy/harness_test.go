package proxy_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/proxy"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// cluster starts n nodes (n1, n2, ...) with pod CIDRs, kube-proxy on each and the streams.
func cluster(t testing.TB, n int, opts proxy.Options, streams ...proxy.Stream) *simtest.Cluster {
	t.Helper()
	var nodes []*corev1.Node
	for i := 1; i <= n; i++ {
		node := simtest.Node(fmt.Sprintf("n%d", i), "4", "8Gi")
		node.Spec.PodCIDR = fmt.Sprintf("10.244.%d.0/24", i)
		nodes = append(nodes, node)
	}
	return simtest.NewWithConfig(t, sim.Config{Seed: 1, Nodes: nodes, Traffic: &sim.TrafficConfig{Proxy: opts, Config: proxy.Config{Streams: streams}}})
}

// service selects app=web on port 80 → 8080.
func service(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
	}
}

// webPod is an app=web pod bound to node, serving on 8080 with a readiness probe every
// second (two failures make it unready), and the usage profile given.
func webPod(name, node, profile string) *corev1.Pod {
	p := simtest.Pod(name, "100m", "64Mi")
	p.Labels = map[string]string{"app": "web"}
	p.Spec.NodeName = node
	if profile != "" {
		p.Annotations = map[string]string{"orrery.dev/usage": profile}
	}
	c := &p.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1, FailureThreshold: 2}
	return p
}

// causes prints a stream's failures by cause.
func causes(s *proxy.Stats) string {
	out := ""
	for _, c := range proxy.Causes {
		if n := s.FailedBy(c); n > 0 {
			out += fmt.Sprintf(" %s=%d", c, n)
		}
	}
	return out
}
