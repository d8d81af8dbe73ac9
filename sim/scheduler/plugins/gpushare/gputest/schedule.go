package gputest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Result is what Schedule did: each node's normalised score (-1 where Filter rejected
// it), the node chosen and the GPUs reserved there.
type Result struct {
	Scores []int64
	Node   string
	GPUs   []int
}

// Schedule runs one scheduling cycle of pod over h's nodes with GPUShare and the score
// plugin p, as the scheduler does: PreFilter (GPUShare's, then p's), Filter, PreScore,
// Score and NormalizeScore over the feasible nodes, the highest score (first in node order
// among equals) chosen, the pod assumed there, then Reserve and Bind. It fails the test on
// any error status.
func Schedule(t *testing.T, h *Handle, share *gpushare.GPUShare, p framework.ScorePlugin, pod *corev1.Pod) Result {
	t.Helper()
	state := framework.NewCycleState()
	skip := share.PreFilter(state, pod).Code() == framework.Skip
	if pf, ok := p.(framework.PreFilterPlugin); ok {
		if st := pf.PreFilter(state, pod); !st.IsSuccess() {
			t.Fatalf("PreFilter: %v", st.Message())
		}
	}
	res := Result{Scores: make([]int64, len(h.Nodes))}
	var feasible []*framework.NodeInfo
	for i, ni := range h.Nodes {
		res.Scores[i] = -1
		if skip || share.Filter(state, pod, ni).IsSuccess() {
			feasible = append(feasible, ni)
		}
	}
	if len(feasible) == 0 {
		return res
	}
	if ps, ok := p.(framework.PreScorePlugin); ok {
		if st := ps.PreScore(state, pod, feasible); !st.IsSuccess() {
			t.Fatalf("PreScore: %v", st.Message())
		}
	}
	scores := make([]framework.NodeScore, len(feasible))
	for i, ni := range feasible {
		s, st := p.Score(state, pod, ni)
		if !st.IsSuccess() {
			t.Fatalf("Score %s: %v", ni.Name(), st.Message())
		}
		scores[i] = framework.NodeScore{Name: ni.Name(), Score: s}
	}
	if ext, ok := p.(framework.ScoreExtensions); ok {
		if st := ext.NormalizeScore(state, pod, scores); !st.IsSuccess() {
			t.Fatalf("NormalizeScore: %v", st.Message())
		}
	}
	best := 0
	for i, s := range scores {
		if s.Score > scores[best].Score {
			best = i
		}
	}
	for i, ni := range h.Nodes {
		for _, s := range scores {
			if s.Name == ni.Name() {
				res.Scores[i] = s.Score
			}
		}
	}
	ni := feasible[best]
	res.Node = ni.Name()
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = res.Node
	ni.AddPod(pod.Namespace+"/"+pod.Name, framework.NewPodInfo(assumed))
	if st := share.Reserve(state, pod, res.Node); !st.IsSuccess() {
		t.Fatalf("Reserve: %v", st.Message())
	}
	res.GPUs = share.Reserved(pod, res.Node)
	if st := share.Bind(state, pod, res.Node); !st.IsSuccess() && st.Code() != framework.Skip {
		t.Fatalf("Bind: %v", st.Message())
	}
	return res
}

// Share returns a GPUShare plugin over h.
func Share(t *testing.T, h framework.Handle) *gpushare.GPUShare {
	t.Helper()
	p, err := gpushare.New(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*gpushare.GPUShare)
}
