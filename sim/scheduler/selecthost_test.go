package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestSelectHost(t *testing.T) {
	nodes := make([]*framework.NodeInfo, 5)
	for i := range nodes {
		nodes[i] = framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}})
	}
	tests := []struct {
		name   string
		scores []int64
		want   map[string]bool // the nodes that may be picked
	}{
		{"single best", []int64{10, 90, 30, 89, 0}, map[string]bool{"n1": true}},
		{"best first", []int64{100, 90, 30, 89, 0}, map[string]bool{"n0": true}},
		{"best last", []int64{1, 2, 3, 4, 5}, map[string]bool{"n4": true}},
		{"ties", []int64{50, 70, 70, 10, 70}, map[string]bool{"n1": true, "n2": true, "n4": true}},
		{"all equal", []int64{0, 0, 0, 0, 0}, map[string]bool{"n0": true, "n1": true, "n2": true, "n3": true, "n4": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scheduler{rand: loop.New(1).Rand("scheduler")}
			const draws = 6000
			got := map[string]int{}
			for i := 0; i < draws; i++ {
				got[s.selectHost(nodes, tc.scores).Name()]++
			}
			for name, n := range got {
				if !tc.want[name] {
					t.Fatalf("picked %s (%d times), want one of %v", name, n, tc.want)
				}
			}
			// Uniform among the ties: each within 10% of its share.
			share := draws / len(tc.want)
			for name := range tc.want {
				if d := got[name] - share; d > share/10 || d < -share/10 {
					t.Errorf("%s picked %d times of %d, want about %d", name, got[name], draws, share)
				}
			}
		})
	}
}
