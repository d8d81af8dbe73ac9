package scenarios

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// TestClusterCIDR: the node IPAM controller cuts a /24 per node from spec.cluster.clusterCIDR.
// Kind's default 10.244.0.0/16 holds 256 of 300 nodes, the other 44 stay without a pod
// CIDR (CIDRNotAvailable), as on a real cluster; a /15 holds them all.
func TestClusterCIDR(t *testing.T) {
	for _, tc := range []struct {
		cidr              string
		withCIDR, without int
	}{
		{"", 256, 44},
		{"10.0.0.0/15", 300, 0},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			line := ""
			if tc.cidr != "" {
				line = "    clusterCIDR: " + tc.cidr + "\n"
			}
			s, err := Parse("s.yaml", []byte(fmt.Sprintf(`apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: ipam}
spec:
  duration: 10s
  cluster:
%s    nodePools:
    - {name: node, count: 300, capacity: {cpu: '4', memory: 8Gi}}
`, line)))
			if err != nil {
				t.Fatal(err)
			}
			run, err := s.Run(RunOptions{Until: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			nodes, err := run.Cluster.Admin.List("nodes", "", apiserver.Filter{}, false)
			if err != nil {
				t.Fatal(err)
			}
			with, without := 0, 0
			for _, o := range nodes.Items {
				if o.(*corev1.Node).Spec.PodCIDR != "" {
					with++
				} else {
					without++
				}
			}
			if with != tc.withCIDR || without != tc.without {
				t.Errorf("%d nodes with a pod CIDR, %d without; want %d and %d", with, without, tc.withCIDR, tc.without)
			}
		})
	}
}
