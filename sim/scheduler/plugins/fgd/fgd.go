package fgd

import (
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// Name is the plugin's name in scheduler configurations (the artifact's).
const Name = "FGDScore"

// Args are the plugin's args in a KubeSchedulerConfiguration's pluginConfig.
type Args struct {
	// TypicalPods is the target workload's distribution of pod shapes (see TypicalPods).
	TypicalPods []TypicalPod `json:"typicalPods"`
	gpushare.PolicyArgs
}

// FGD is the plugin. A node's score is 100·σ(ΔF/1000), truncated, where ΔF is how much
// the node's fragmentation (Frag, in thousandths of a GPU) falls when the pod is placed
// on it — positive when placing the pod removes fragments — and σ the logistic function:
// 50 when it does not change, toward 100 as it falls, toward 0 as it grows. A pod asking
// for a share of a GPU is tried on every GPU with room and takes the one scoring best
// (lowest index among equals), which is also the GPU it gets at Reserve; whole GPUs are
// the fully free ones of lowest index. A pod requesting nothing scores 100 everywhere.
// Scores are computed in integers (the artifact's floats may land one lower at exact
// integers). The node's free CPU counts, as the pod's non-zero CPU request.
type FGD struct {
	w *Workload
	// cut[k] is the smallest ΔF (scaled by the total weight) that scores at least k.
	cut [framework.MaxNodeScore + 1]int64
	// buf holds a node's free shares while a placement is tried.
	buf []int64
	tb  *gpushare.TieBreaker
}

var (
	_ framework.PreFilterPlugin = (*FGD)(nil)
	_ framework.PreScorePlugin  = (*FGD)(nil)
	_ framework.ScorePlugin     = (*FGD)(nil)
	_ framework.ScoreExtensions = (*FGD)(nil)
)

// New is the plugin's factory: args (*runtime.Unknown JSON, as pluginConfig hands them to
// out-of-tree plugins) must give the typical pods; NewWithWorkload builds it from Go.
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	if args == nil {
		return nil, fmt.Errorf("%s args: typicalPods is required (the target workload's pod shapes)", Name)
	}
	var a Args
	if err := gpushare.DecodeArgs(Name, args, &a); err != nil {
		return nil, err
	}
	w, err := NewWorkload(a.TypicalPods)
	if err != nil {
		return nil, fmt.Errorf("%s args: %w", Name, err)
	}
	f := NewWithWorkload(w)
	if f.tb, err = gpushare.NewTieBreaker(Name, a.TieBreak, h); err != nil {
		return nil, err
	}
	return f, nil
}

// NewWithWorkload returns the plugin measuring against w.
func NewWithWorkload(w *Workload) *FGD {
	f := &FGD{w: w}
	scale := 1000 * float64(w.total)
	for k := int64(1); k < framework.MaxNodeScore; k++ {
		// 100·σ(x) ≥ k ⇔ x ≥ ln(k/(100−k)).
		f.cut[k] = int64(math.Ceil(math.Log(float64(k)/float64(framework.MaxNodeScore-k)) * scale))
	}
	// σ(x) rounds to exactly 1 in float64 (the artifact's 100) beyond x ≈ 36.7368.
	f.cut[framework.MaxNodeScore] = int64(math.Ceil(36.7368005696771 * scale))
	f.cut[0] = math.MinInt64
	return f
}

// Name returns the plugin's name.
func (*FGD) Name() string { return Name }

// NormalizeScore breaks ties between the best nodes when tieBreak is set.
func (f *FGD) NormalizeScore(_ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	f.tb.Apply(scores)
	return nil
}

// Workload returns the target workload the plugin measures against.
func (f *FGD) Workload() *Workload { return f.w }

// PreFilter makes the plugin choose the GPUs the pod gets at Reserve.
func (f *FGD) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	f.setChooser(state, pod)
	return nil
}

// PreScore makes the plugin choose the GPUs the pod gets at Reserve.
func (f *FGD) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	f.setChooser(state, pod)
	return nil
}

func (f *FGD) setChooser(state *framework.CycleState, pod *corev1.Pod) {
	cpu := framework.PodInfoOf(state, pod).NonZero.MilliCPU
	gpushare.SetChooser(state, gpushare.ChooserFunc(func(r gpushare.Request, n *gpushare.Node) []int {
		_, idx := f.Best(r, cpu, n)
		return idx
	}))
}

// Score is the node's score for the pod (see FGD).
func (f *FGD) Score(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	pi := framework.PodInfoOf(state, pod)
	r, err := gpushare.RequestFrom(state, pod)
	if err != nil {
		return 0, framework.NewStatus(framework.Error, err.Error())
	}
	if r.None() && requestsNothing(pi) {
		return framework.MaxNodeScore, nil
	}
	s, _ := f.Best(r, pi.NonZero.MilliCPU, gpushare.NodeOf(state, pod, ni))
	return s, nil
}

func requestsNothing(pi *framework.PodInfo) bool {
	q := &pi.Requests
	return q.MilliCPU == 0 && q.Memory == 0 && q.EphemeralStorage == 0 && len(q.Scalar) == 0
}

// Best returns the score of placing a pod asking for r and cpu millicores on a node, and
// the GPUs it would take (nil for a pod asking for none, or when it does not fit).
func (f *FGD) Best(r gpushare.Request, cpu int64, n *gpushare.Node) (int64, []int) {
	before := f.w.frag(n.Model, n.CPUFree, n.Free)
	f.buf = append(f.buf[:0], n.Free...)
	buf := f.buf
	if r.Share() {
		best, at := int64(0), -1
	gpus:
		for i, free := range n.Free {
			if free < r.Milli {
				continue
			}
			// The measure depends on the multiset of free shares only: a GPU with as
			// much free as one tried before gives the same score, and the first wins.
			for _, prev := range n.Free[:i] {
				if prev == free {
					continue gpus
				}
			}
			buf[i] -= r.Milli
			s := f.score(before - f.w.frag(n.Model, n.CPUFree-cpu, buf))
			buf[i] = free
			if at < 0 || s > best {
				best, at = s, i
			}
		}
		if at < 0 {
			return 0, nil
		}
		return best, []int{at}
	}
	var idx []int
	if !r.None() {
		idx = gpushare.Exclusive(r, n)
		for _, g := range idx {
			buf[g] -= r.Milli
		}
	}
	return f.score(before - f.w.frag(n.Model, n.CPUFree-cpu, buf)), idx
}

// score maps a fall of fragmentation (scaled) to 0–100: the largest k whose cut it
// reaches.
func (f *FGD) score(delta int64) int64 {
	return int64(sort.Search(len(f.cut), func(k int) bool { return f.cut[k] > delta })) - 1
}
