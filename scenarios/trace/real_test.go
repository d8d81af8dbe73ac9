package trace

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// realDir holds the real OpenB trace (see its README.md); tests that need it skip when
// it is absent.
const realDir = "../../../shared/traces/openb"

func realFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(realDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real OpenB trace not present: %v", err)
	}
	return p
}

// TestRealOpenB checks the counts the trace's README states: 8,152 pods in the default
// list (1,088 CPU-only, 3,078 GPU-sharing), 1,523 and 1,213 nodes, 6,212 GPUs.
func TestRealOpenB(t *testing.T) {
	pods := realFile(t, "openb_pod_list_default.csv")
	for _, tt := range []struct {
		file  string
		nodes int
	}{{"openb_node_list_all_node.csv", 1523}, {"openb_node_list_gpu_node.csv", 1213}} {
		w, err := LoadOpenB(realFile(t, tt.file), pods, OpenBOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Nodes) != tt.nodes {
			t.Errorf("%s: %d nodes, want %d", tt.file, len(w.Nodes), tt.nodes)
		}
		if g := GPUCapacity(w.Nodes); g != 6212 {
			t.Errorf("%s: %d GPUs, want 6212", tt.file, g)
		}
		var cpuOnly, sharing, departing int
		for _, a := range w.Arrivals {
			switch m := GPUMilli(a.Pod); {
			case m == 0:
				cpuOnly++
			case m < MilliPerGPU:
				sharing++
			}
			if a.Lifetime > 0 {
				departing++
			}
		}
		if len(w.Arrivals) != 8152 || cpuOnly != 1088 || sharing != 3078 {
			t.Errorf("%d pods (%d CPU-only, %d GPU-sharing), want 8152 (1088, 3078)", len(w.Arrivals), cpuOnly, sharing)
		}
		// One pod (openb-pod-7285) is deleted at its creation time: no departure.
		if departing != 8151 {
			t.Errorf("%d pods depart, want 8151", departing)
		}
	}
	skipped, err := LoadOpenB("", pods, OpenBOptions{SkipUnscheduled: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(skipped.Arrivals); n != 8152-897 {
		t.Errorf("%d pods the trace scheduled, want %d (897 Pending)", n, 8152-897)
	}
}

// TestRealOpenBProtocol samples the default trace to 130% of the GPU nodes' capacity.
func TestRealOpenBProtocol(t *testing.T) {
	w, err := LoadOpenB(realFile(t, "openb_node_list_gpu_node.csv"), realFile(t, "openb_pod_list_default.csv"), OpenBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	capacity := GPUCapacity(w.Nodes) * MilliPerGPU
	p := Protocol{Target: 1.3}
	a, err := p.Sample(w.Arrivals, capacity, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, x := range a {
		sum += GPUMilli(x.Pod)
	}
	goal := 1.3 * float64(capacity)
	last := GPUMilli(a[len(a)-1].Pod)
	if float64(sum) < goal || float64(sum-last) >= goal {
		t.Errorf("arrived %d milli-GPU (last %d), want the first draw reaching %.0f", sum, last, goal)
	}
	// The default trace requests 6,086.8 GPUs in 8,152 pods, so reaching 8,075.6 GPUs
	// takes about 8,152 × 8,075.6 / 6,086.8 ≈ 10,816 draws; PCG(1, 2) needs 10,791.
	if n := len(a); n != 10791 {
		t.Errorf("%d draws to reach 130%%, want 10,791 (about 10,816 expected)", n)
	}
	b, err := p.Sample(w.Arrivals, capacity, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(a) || b[len(b)-1].Pod.Name != a[len(a)-1].Pod.Name {
		t.Errorf("the same seed drew differently: %d then %d pods", len(a), len(b))
	}
}
