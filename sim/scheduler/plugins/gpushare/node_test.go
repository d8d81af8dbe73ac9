package gpushare_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

// TestNewNode pins how a node's GPUs are read: pods with an index take those GPUs, pods
// without one take GPUs by best fit afterwards (in key order), and the excluded pod none.
func TestNewNode(t *testing.T) {
	n := gputest.Node("n", "V100M16", 4, 32000)
	ni := gputest.Info(n,
		gputest.On(gputest.Pod("a", 4000, 1, 300), "n", 2),
		gputest.On(gputest.Pod("b", 2000, 2, 1000), "n", 0, 3),
		// No index: best fit is GPU 2 (700 free, the least that holds 500).
		gputest.On(gputest.Pod("c", 1000, 1, 500), "n"),
		gputest.On(gputest.Pod("d", 1000, 0, 0), "n"),
	)
	v := gpushare.NewNode(ni, nil, "")
	if want := []int64{0, 1000, 200, 0}; !reflect.DeepEqual(v.Free, want) {
		t.Errorf("free %v, want %v", v.Free, want)
	}
	if v.Model != "V100M16" || v.CPUCap != 32000 || v.CPUFree != 32000-8000 {
		t.Errorf("model %q cpu %d/%d, want V100M16 24000/32000", v.Model, v.CPUFree, v.CPUCap)
	}
	if want := map[string]int{"share-gpu": 2, "2-gpu": 1}; !reflect.DeepEqual(v.Kinds, want) {
		t.Errorf("kinds %v, want %v", v.Kinds, want)
	}
	if v.TotalFree() != 1200 || v.FullyFree() != 1 {
		t.Errorf("total free %d, fully free %d; want 1200, 1", v.TotalFree(), v.FullyFree())
	}
	// Without c (Reserve's view while placing it) GPU 2 keeps 700.
	if v := gpushare.NewNode(ni, nil, "default/c"); !reflect.DeepEqual(v.Free, []int64{0, 1000, 700, 0}) {
		t.Errorf("without c: free %v", v.Free)
	}
	// A lookup (the scheduler's reservations) places c on GPU 1.
	v = gpushare.NewNode(ni, func(key string, _ *corev1.Pod) []int {
		if key == "default/c" {
			return []int{1}
		}
		return nil
	}, "")
	if want := []int64{0, 500, 700, 0}; !reflect.DeepEqual(v.Free, want) {
		t.Errorf("with lookup: free %v, want %v", v.Free, want)
	}
}

func TestChoosers(t *testing.T) {
	v := &gpushare.Node{Free: []int64{1000, 300, 600, 1000, 300}}
	share := gpushare.Request{Count: 1, Milli: 250}
	two := gpushare.Request{Count: 2, Milli: 1000}
	three := gpushare.Request{Count: 3, Milli: 1000}
	tests := []struct {
		name string
		c    gpushare.Chooser
		r    gpushare.Request
		want []int
	}{
		{"best fit: least free that fits, lowest index", gpushare.BestFit, share, []int{1}},
		{"best fit: 500 skips the 300s", gpushare.BestFit, gpushare.Request{Count: 1, Milli: 500}, []int{2}},
		{"worst fit: most free", gpushare.WorstFit, share, []int{0}},
		{"whole GPUs: fully free, lowest index", gpushare.BestFit, two, []int{0, 3}},
		{"too few fully free", gpushare.BestFit, three, nil},
		{"701 fits only the fully free GPUs", gpushare.BestFit, gpushare.Request{Count: 1, Milli: 1000 - 299}, []int{0}},
	}
	for _, tt := range tests {
		if got := tt.c.ChooseGPUs(tt.r, v); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	full := &gpushare.Node{Free: []int64{200, 0}}
	if got := gpushare.BestFit.ChooseGPUs(share, full); got != nil {
		t.Errorf("no room: %v, want nil", got)
	}
}

func TestTake(t *testing.T) {
	v := &gpushare.Node{Free: []int64{1000, 400}, CPUFree: 8000}
	share := gpushare.Request{Count: 1, Milli: 500}
	if v.Take(share, 1000, []int{1}) {
		t.Error("took 500 of a GPU with 400 free")
	}
	if v.Take(gpushare.Request{Count: 2, Milli: 1000}, 0, []int{0, 0}) {
		t.Error("took one GPU twice")
	}
	if !v.Take(share, 1000, []int{0}) || !reflect.DeepEqual(v.Free, []int64{500, 400}) || v.CPUFree != 7000 {
		t.Errorf("after taking 500 of GPU 0: free %v cpu %d", v.Free, v.CPUFree)
	}
}
