package gpushare_test

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

type seeded struct {
	*gputest.Handle
	r *rand.Rand
}

func (h seeded) Rand() *rand.Rand { return h.r }

// TestTieBreaker: the best node of lowest rank wins alone, by one point (or the others lose
// one at 100); other scores are kept; the order is fixed for the plugin's life.
func TestTieBreaker(t *testing.T) {
	h := seeded{gputest.Cluster(nil, nil), rand.New(rand.NewPCG(3, 4))}
	tb, err := gpushare.NewTieBreaker("P", gpushare.TieBreakNodeOrder, h)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "e"}
	byRank := append([]string(nil), names...)
	sort.Slice(byRank, func(i, j int) bool { return tb.Rank(byRank[i]) < tb.Rank(byRank[j]) })
	if tb.Rank("a") == tb.Rank("b") {
		t.Fatal("equal ranks")
	}
	scores := func(vals ...int64) []framework.NodeScore {
		out := make([]framework.NodeScore, len(vals))
		for i, v := range vals {
			out[i] = framework.NodeScore{Name: names[i], Score: v}
		}
		return out
	}
	// All five tie at 40: the first by rank gets 41.
	got := scores(40, 40, 40, 40, 40)
	tb.Apply(got)
	for _, s := range got {
		want := int64(40)
		if s.Name == byRank[0] {
			want = 41
		}
		if s.Score != want {
			t.Errorf("tie at 40: %s scored %d, want %d", s.Name, s.Score, want)
		}
	}
	// At 100 the others lose one.
	got = scores(100, 100, 100, 100, 100)
	tb.Apply(got)
	for _, s := range got {
		want := int64(99)
		if s.Name == byRank[0] {
			want = 100
		}
		if s.Score != want {
			t.Errorf("tie at 100: %s scored %d, want %d", s.Name, s.Score, want)
		}
	}
	// A unique best is left alone, as are lower ties.
	got = scores(10, 70, 10, 10, 50)
	tb.Apply(got)
	if want := scores(10, 70, 10, 10, 50); !reflect.DeepEqual(got, want) {
		t.Errorf("unique best: %v", got)
	}
	var nilTB *gpushare.TieBreaker
	nilTB.Apply(got) // no tie breaking: nothing happens
	if _, err := gpushare.NewTieBreaker("P", "Lowest", h); err == nil || err.Error() != `P args: tieBreak: Unsupported value: "Lowest": supported values: "NodeOrder"` {
		t.Errorf("bad mode: %v", err)
	}
}

func TestDecodeArgs(t *testing.T) {
	var a gpushare.PolicyArgs
	if err := gpushare.DecodeArgs("P", &runtime.Unknown{Raw: []byte(`{"tieBreak":"NodeOrder"}`)}, &a); err != nil || a.TieBreak != "NodeOrder" {
		t.Errorf("%+v %v", a, err)
	}
	if err := gpushare.DecodeArgs("P", &runtime.Unknown{Raw: []byte(`{"tiebreak":"NodeOrder"}`)}, &a); err == nil || err.Error() != `P args: line 1: tiebreak: unknown field "tiebreak"` {
		t.Errorf("unknown field: %v", err)
	}
	if err := gpushare.DecodeArgs("P", nil, &a); err != nil {
		t.Errorf("nil args: %v", err)
	}
}
