package policies

import (
	"math/rand/v2"
	"testing"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func TestRandom(t *testing.T) {
	nodes := []*framework.NodeInfo{
		node("a", res("4", "8Gi")), node("b", res("4", "8Gi")), node("c", res("4", "8Gi")),
		node("d", res("4", "8Gi")), node("e", res("4", "8Gi")),
	}
	newPlugin := func(seed uint64) framework.ScorePlugin {
		p, _ := NewRandom(nil, fakeHandle{rand.New(rand.NewPCG(seed, 11))})
		return p.(framework.ScorePlugin)
	}
	// The first five draws of Int64N(101) from PCG(7, 11): math/rand/v2 fixes PCG's output
	// and Int64N's algorithm, so these are stable across Go releases and machines.
	want := []int64{23, 39, 52, 18, 33}
	if got := scoreAll(t, newPlugin(7), pod(res("1", "1Gi")), nodes); !equal(got, want) {
		t.Errorf("seed 7: scores %v, want %v", got, want)
	}
	// Same seed, same scores; another seed, other scores.
	a := scoreAll(t, newPlugin(3), pod(res("1", "1Gi")), nodes)
	b := scoreAll(t, newPlugin(3), pod(res("1", "1Gi")), nodes)
	if !equal(a, b) {
		t.Errorf("seed 3 twice: %v then %v", a, b)
	}
	if c := scoreAll(t, newPlugin(4), pod(res("1", "1Gi")), nodes); equal(a, c) {
		t.Errorf("seeds 3 and 4 gave the same scores %v", a)
	}
}

func TestRandomIsUniform(t *testing.T) {
	p, _ := NewRandom(nil, fakeHandle{rand.New(rand.NewPCG(1, 2))})
	r := p.(framework.ScorePlugin)
	var seen [framework.MaxNodeScore + 1]int
	for i := 0; i < 101*200; i++ {
		s, _ := r.Score(nil, nil, nil)
		seen[s]++
	}
	for s, c := range seen {
		// 200 expected per value; 5 standard deviations is about ±70.
		if c < 130 || c > 270 {
			t.Errorf("score %d drawn %d times in %d, want about 200", s, c, 101*200)
		}
	}
}
