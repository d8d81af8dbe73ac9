package gpushare

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// TieBreakNodeOrder is the tieBreak arg of the GPU policies that breaks ties between the
// best-scored nodes by a fixed random order of the nodes, as the artifact's kube-scheduler
// does (see TieBreaker).
const TieBreakNodeOrder = "NodeOrder"

// PolicyArgs are the args every GPU policy but RandomScore takes.
type PolicyArgs struct {
	// TieBreak is "" (the scheduler breaks ties at random, as upstream) or "NodeOrder".
	TieBreak string `json:"tieBreak,omitempty"`
}

// DecodeArgs decodes a plugin's pluginConfig args (*runtime.Unknown JSON) into v strictly,
// as Orrery decodes manifests (an unknown field, or a known one spelt in another case, is
// an error with its field path); nil args leave v as it is.
func DecodeArgs(plugin string, args runtime.Object, v any) error {
	switch a := args.(type) {
	case nil:
		return nil
	case *runtime.Unknown:
		if err := model.DecodeInto(plugin+" args", a.Raw, v); err != nil {
			return err
		}
		return nil
	default:
		return fmt.Errorf("%s args: unexpected type %T", plugin, args)
	}
}

// TieBreaker makes the best score of a cycle unique, so that the scheduler's random choice
// among equal best nodes never comes into play: among the nodes with the highest score the
// one first in a fixed random order of node names keeps it plus one (or, at 100, the others
// lose one). This is how the artifact of Weng et al. (ATC'23) runs its experiments: its
// kube-scheduler, a fork, picks the smallest node name among equal scores, and its nodes'
// names are prefixed with their index in a random permutation. The order here is a hash of
// each name salted once per plugin from the scheduler's seeded stream (Handle.Rand).
type TieBreaker struct {
	h      framework.Handle
	salted bool
	salt   uint64
}

// NewTieBreaker returns the tie breaker of a tieBreak arg: nil for "" (none).
func NewTieBreaker(plugin, mode string, h framework.Handle) (*TieBreaker, error) {
	switch mode {
	case "":
		return nil, nil
	case TieBreakNodeOrder:
		return &TieBreaker{h: h}, nil
	}
	return nil, fmt.Errorf("%s args: tieBreak: Unsupported value: %q: supported values: %q", plugin, mode, TieBreakNodeOrder)
}

// Rank is a node's place in the order (lower first).
func (t *TieBreaker) Rank(name string) uint64 {
	if !t.salted {
		t.salted = true
		if t.h != nil {
			t.salt = t.h.Rand().Uint64()
		}
	}
	// FNV-1a over the name, then the splitmix64 finaliser with the salt.
	x := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		x ^= uint64(name[i])
		x *= 1099511628211
	}
	x ^= t.salt
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Apply breaks the tie between the best scores, if any (a nil TieBreaker does nothing).
func (t *TieBreaker) Apply(scores []framework.NodeScore) {
	if t == nil || len(scores) < 2 {
		return
	}
	best, first, n := scores[0].Score, 0, 0
	for i, s := range scores {
		switch {
		case s.Score > best:
			best, first, n = s.Score, i, 1
		case s.Score == best:
			n++
			if i != first && t.Rank(s.Name) < t.Rank(scores[first].Name) {
				first = i
			}
		}
	}
	if n < 2 {
		return
	}
	if best < framework.MaxNodeScore {
		scores[first].Score++
		return
	}
	for i := range scores {
		if i != first && scores[i].Score == best {
			scores[i].Score--
		}
	}
}
