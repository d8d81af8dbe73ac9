package fgd_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

func workload(t *testing.T, pods ...fgd.TypicalPod) *fgd.Workload {
	t.Helper()
	w, err := fgd.NewWorkload(pods)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// half and whole: half of the workload asks for half a GPU, half for a whole one.
var (
	half  = fgd.TypicalPod{CPU: 1000, GPUMilli: 500, GPUCount: 1, Weight: 1}
	whole = fgd.TypicalPod{CPU: 1000, GPUMilli: 1000, GPUCount: 1, Weight: 1}
	cpu   = fgd.TypicalPod{CPU: 1000, Weight: 1}
)

// TestFrag pins the measure on hand-computed nodes (thousandths of a GPU).
func TestFrag(t *testing.T) {
	node := func(model string, cpuFree int64, free ...int64) *gpushare.Node {
		return &gpushare.Node{Model: model, CPUFree: cpuFree, Free: free}
	}
	tests := []struct {
		name string
		w    []fgd.TypicalPod
		n    *gpushare.Node
		want float64
	}{
		{"idle node: both shapes fit, nothing is a fragment", []fgd.TypicalPod{half, whole}, node("T4", 8000, 1000, 1000), 0},
		// half: GPU 0's 500 still holds it (no fragment); whole: GPU 0's 500 is a fragment.
		{"half a GPU used", []fgd.TypicalPod{half, whole}, node("T4", 8000, 500, 1000), (0 + 500) / 2.0},
		// whole no longer fits anywhere: all 1000 free are fragments for it.
		{"two halves on two GPUs", []fgd.TypicalPod{half, whole}, node("T4", 8000, 500, 500), (0 + 1000) / 2.0},
		// For a CPU-only pod every free GPU thousandth is a fragment.
		{"cpu-only shape", []fgd.TypicalPod{cpu}, node("T4", 8000, 300, 1000), 1300},
		// The node lacks the CPU of both shapes: everything is a fragment.
		{"no cpu left", []fgd.TypicalPod{half, whole}, node("T4", 900, 1000, 1000), 2000},
		{"model not allowed", []fgd.TypicalPod{{CPU: 1000, GPUMilli: 500, GPUCount: 1, Model: "V100M32|A10", Weight: 3}, whole},
			node("T4", 8000, 1000, 1000), (3*2000 + 0) / 4.0},
		{"model allowed", []fgd.TypicalPod{{CPU: 1000, GPUMilli: 500, GPUCount: 1, Model: "V100M32|A10", Weight: 3}, whole},
			node("A10", 8000, 1000, 1000), 0},
		{"no GPUs: no fragments", []fgd.TypicalPod{half, cpu}, node("", 8000), 0},
		// Two whole GPUs need two GPUs with 1000 free: 700+1000 are fragments.
		{"multi-GPU shape", []fgd.TypicalPod{{CPU: 1000, GPUMilli: 1000, GPUCount: 2, Weight: 1}}, node("G2", 96000, 700, 1000), 1700},
	}
	for _, tt := range tests {
		if got := workload(t, tt.w...).Frag(tt.n); got != tt.want {
			t.Errorf("%s: frag %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestScore pins FGD's choices on small clusters, from the paper's definition: 100·σ(ΔF/1000)
// with ΔF the fall of fragmentation, σ(0.25) = 0.562, σ(-0.25) = 0.438, σ(-2) = 0.119.
func TestScore(t *testing.T) {
	nodes := []*corev1.Node{gputest.Node("idle", "T4", 2, 32000), gputest.Node("half", "T4", 2, 32000), gputest.Node("cpu", "", 0, 32000)}
	used := gputest.On(gputest.Pod("u", 1000, 1, 500), "half", 0)
	tests := []struct {
		name   string
		w      []fgd.TypicalPod
		nodes  []*corev1.Node
		pods   []*corev1.Pod
		pod    *corev1.Pod
		scores []int64
		node   string
		gpus   []int
	}{
		// idle: [1000 1000] → [500 1000]: F 0 → 250, ΔF -250: 43. half: [500 1000] →
		// [0 1000] on GPU 0: F 250 → 0, ΔF +250: 56; on GPU 1 ([500 500]): F 500: 43.
		{"a share fills the used GPU", []fgd.TypicalPod{half, whole}, nodes, []*corev1.Pod{used},
			gputest.Pod("p", 1000, 1, 500), []int64{43, 56, -1}, "half", []int{0}},
		// A CPU-only pod leaving 500m of CPU on a GPU node strands its GPUs (F 0 → 2000,
		// σ(-2): 11) but changes nothing on the CPU node (50).
		{"a CPU pod avoids starving GPU nodes of CPU", []fgd.TypicalPod{half, whole},
			[]*corev1.Node{gputest.Node("gpu", "T4", 2, 1500), gputest.Node("cpu", "", 0, 1500)}, nil,
			gputest.Pod("c", 1000, 0, 0), []int64{11, 50}, "cpu", nil},
		// [500 700] and a 200 share with a 500 workload: best fit (GPU 0, [300 700])
		// makes 300 a fragment (42); GPU 1 ([500 500]) keeps both usable (50).
		{"FGD's GPU, not best fit's", []fgd.TypicalPod{{CPU: 1000, GPUMilli: 500, GPUCount: 1, Weight: 1}},
			[]*corev1.Node{gputest.Node("n", "T4", 2, 32000)},
			[]*corev1.Pod{gputest.On(gputest.Pod("a", 1000, 1, 500), "n", 0), gputest.On(gputest.Pod("b", 1000, 1, 300), "n", 1)},
			gputest.Pod("p", 1000, 1, 200), []int64{50}, "n", []int{1}},
		// Whole GPUs take the fully free GPUs of lowest index. On the 4-GPU node
		// [0 0 1000 1000] no longer holds the 4-GPU shape: its 2000 free become fragments
		// (σ(-2): 11); on the 8-GPU node six whole GPUs still hold it (F stays 0: 50).
		{"two whole GPUs", []fgd.TypicalPod{{CPU: 1000, GPUMilli: 1000, GPUCount: 4, Weight: 1}},
			[]*corev1.Node{gputest.Node("four", "G2", 4, 96000), gputest.Node("eight", "G2", 8, 96000)}, nil,
			gputest.Pod("w", 1000, 2, 1000), []int64{11, 50}, "eight", []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := gputest.Cluster(&gputest.Client{}, tt.nodes, tt.pods...)
			p, err := fgd.New(&runtime.Unknown{Raw: typicalJSON(tt.w)}, h)
			if err != nil {
				t.Fatal(err)
			}
			res := gputest.Schedule(t, h, gputest.Share(t, h), p.(framework.ScorePlugin), tt.pod)
			if !reflect.DeepEqual(res.Scores, tt.scores) || res.Node != tt.node || !reflect.DeepEqual(res.GPUs, tt.gpus) {
				t.Errorf("scores %v, node %q, GPUs %v; want %v, %q, %v", res.Scores, res.Node, res.GPUs, tt.scores, tt.node, tt.gpus)
			}
		})
	}
}

func typicalJSON(pods []fgd.TypicalPod) []byte {
	var b strings.Builder
	b.WriteString(`{"typicalPods":[`)
	for i, p := range pods {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"cpu":` + strconv.FormatInt(p.CPU, 10) + `,"gpuMilli":` + strconv.FormatInt(p.GPUMilli, 10) + `,"gpuCount":` + strconv.Itoa(p.GPUCount) + `,"model":"` + p.Model + `","weight":` + strconv.FormatInt(p.Weight, 10) + `}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestScoreCurve pins the logistic mapping of a fall of fragmentation to a score.
func TestScoreCurve(t *testing.T) {
	w := workload(t, fgd.TypicalPod{CPU: 0, Weight: 1}) // a CPU-only shape: F is the free total
	f := fgd.NewWithWorkload(w)
	r := gpushare.Request{Count: 1, Milli: 1000}
	for _, tt := range []struct {
		free []int64
		want int64
	}{
		// Taking a whole GPU removes 1000 fragments: σ(1) = 0.731.
		{[]int64{1000}, 73},
		{[]int64{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, 73},
	} {
		got, _ := f.Best(r, 0, &gpushare.Node{Model: "G2", CPUFree: 1000, Free: tt.free})
		if got != tt.want {
			t.Errorf("free %v: %d, want %d", tt.free, got, tt.want)
		}
	}
	// A share of 1: σ(0.001) = 0.50025 → 50; of 0: 50.
	if got, _ := f.Best(gpushare.Request{Count: 1, Milli: 1}, 0, &gpushare.Node{CPUFree: 1, Free: []int64{1000}}); got != 50 {
		t.Errorf("share of 1: %d, want 50", got)
	}
}

func TestArgs(t *testing.T) {
	for _, tt := range []struct {
		raw, err string
	}{
		{`{"typicalPods":[{"cpu":1000,"gpuMilli":500,"gpuCount":1,"weight":3}]}`, ""},
		{`{"typicalPods":[]}`, "FGDScore args: typicalPods: want at least one pod shape"},
		{`{"typicalPods":[{"cpu":1000,"gpuMilli":500,"gpuCount":2,"weight":3}]}`, "FGDScore args: typicalPods[0]: Invalid value: 2 GPUs of 500 thousandths: a share is of one GPU only"},
		{`{"typicalPods":[{"cpu":1000,"weight":0}]}`, "FGDScore args: typicalPods[0].weight: Invalid value: 0: must be positive"},
		{`{"typicalPod":[]}`, `FGDScore args: line 1: typicalPod: unknown field "typicalPod"`},
		{`{"typicalPods":[{"cpu":1000,"weight":1}],"tieBreak":"NodeOrder"}`, ""},
		{`{"typicalPods":[{"cpu":1000,"weight":1}],"tieBreak":"Name"}`, `FGDScore args: tieBreak: Unsupported value: "Name": supported values: "NodeOrder"`},
	} {
		_, err := fgd.New(&runtime.Unknown{Raw: []byte(tt.raw)}, nil)
		if got := errString(err); got != tt.err {
			t.Errorf("%s: error %q, want %q", tt.raw, got, tt.err)
		}
	}
	if _, err := fgd.New(nil, nil); err == nil {
		t.Error("no args accepted")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestTypicalPods(t *testing.T) {
	var pods []*corev1.Pod
	add := func(n int, cpu int64, count int, milli int64, models ...string) {
		for i := 0; i < n; i++ {
			pods = append(pods, gputest.Pod("p", cpu, count, milli, models...))
		}
	}
	add(10, 4000, 1, 500)
	add(5, 8000, 1, 1000)
	add(3, 2000, 0, 0)
	add(3, 6000, 2, 1000) // as common as the CPU shape, more CPU: first
	add(1, 4000, 1, 500, "T4")
	got, err := fgd.TypicalPods(pods, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	// 80% of 22 is 17.6: 10 + 5 + 3 covers 18.
	want := []fgd.TypicalPod{
		{CPU: 4000, GPUMilli: 500, GPUCount: 1, Weight: 10},
		{CPU: 8000, GPUMilli: 1000, GPUCount: 1, Weight: 5},
		{CPU: 6000, GPUMilli: 1000, GPUCount: 2, Weight: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("typical pods %+v, want %+v", got, want)
	}
	all, _ := fgd.TypicalPods(pods, 1)
	if len(all) != 5 || all[4].Model != "T4" {
		t.Errorf("all shapes: %+v", all)
	}
}
