package gpurandom_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpurandom"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// seeded is a handle whose random stream persists across calls.
type seeded struct {
	*gputest.Handle
	r *rand.Rand
}

func (h seeded) Rand() *rand.Rand { return h.r }

// TestRandom pins the draws: one IntN over the feasible nodes in PreScore, then one IntN
// per GPU with room at Reserve (reservoir sampling), from the handle's seeded stream.
func TestRandom(t *testing.T) {
	nodes := []*corev1.Node{gputest.Node("a", "G2", 8, 96000), gputest.Node("b", "G2", 8, 96000), gputest.Node("c", "T4", 2, 104000)}
	running := []*corev1.Pod{gputest.On(gputest.Pod("x", 1000, 1, 900), "a", 3), gputest.On(gputest.Pod("y", 1000, 1, 900), "b", 5)}
	for seed := uint64(1); seed <= 5; seed++ {
		h := gputest.Cluster(&gputest.Client{}, nodes, running...)
		p, _ := gpurandom.New(nil, seeded{h, rand.New(rand.NewPCG(seed, 0))})
		pod := gputest.Pod("s", 1000, 1, 500, "G2")
		res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), pod)

		// The same draws by hand: node among a, b (c is T4), then GPU among the 7 with room.
		r := rand.New(rand.NewPCG(seed, 0))
		node := []string{"a", "b"}[r.IntN(2)]
		held := map[string]int{"a": 3, "b": 5}[node]
		gpu, seen := -1, 0
		for g := 0; g < 8; g++ {
			if g == held {
				continue
			}
			seen++
			if r.IntN(seen) == 0 {
				gpu = g
			}
		}
		scores := []int64{0, 0, -1}
		scores[map[string]int{"a": 0, "b": 1}[node]] = 100
		if res.Node != node || !reflect.DeepEqual(res.GPUs, []int{gpu}) || !reflect.DeepEqual(res.Scores, scores) {
			t.Errorf("seed %d: %q GPUs %v scores %v, want %q [%d] %v", seed, res.Node, res.GPUs, res.Scores, node, gpu, scores)
		}
	}
	// Whole GPUs: the fully free ones of lowest index.
	h := gputest.Cluster(&gputest.Client{}, nodes, running...)
	p, _ := gpurandom.New(nil, seeded{h, rand.New(rand.NewPCG(9, 9))})
	res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), gputest.Pod("w", 1000, 2, 1000, "T4"))
	if res.Node != "c" || !reflect.DeepEqual(res.GPUs, []int{0, 1}) {
		t.Errorf("whole GPUs: %q %v, want c [0 1]", res.Node, res.GPUs)
	}
}
