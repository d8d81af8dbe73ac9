package reports

import (
	"reflect"
	"testing"
)

// TestGPUMetrics: without GPUs nothing; without a protocol curve the allocation at the
// end; with a curve to 130% the allocation at 100% and 130% arrival (in %), and the
// fragmentation (GPUs and rate), CPU allocation and unplaced pods at the end.
func TestGPUMetrics(t *testing.T) {
	curve := func(n int) *GPUCurve {
		c := &GPUCurve{Unplaced: 7}
		for k := 0; k <= n; k++ {
			c.Allocation = append(c.Allocation, float64(k)/200)
			c.Fragmentation = append(c.Fragmentation, float64(k)/10)
			c.FragmentationRate = append(c.FragmentationRate, float64(k)/1000)
			c.CPUAllocation = append(c.CPUAllocation, float64(k)/400)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		g    *GPUResult
		want []Metric
	}{
		{"no GPUs", nil, nil},
		{"no curve", &GPUResult{GPUs: 8, Allocation: 0.75}, []Metric{
			{Name: "gpu.unallocated", Unit: "GPUs", Value: 2, Better: Lower},
			{Name: "gpu.allocation", Unit: "%", Value: 75, Better: Higher},
		}},
		{"protocol to 130%", &GPUResult{GPUs: 8, Allocation: 0.65, Curve: curve(130)}, []Metric{
			{Name: "gpu.unallocated", Unit: "GPUs", Value: 2.8, Better: Lower},
			{Name: "gpu.allocation.arrived-100", Unit: "%", Value: 50, Better: Higher},
			{Name: "gpu.allocation.arrived-130", Unit: "%", Value: 65, Better: Higher},
			{Name: "gpu.fragmentation", Unit: "GPUs", Value: 13, Better: Lower},
			{Name: "gpu.fragmentation.rate", Unit: "%", Value: 13, Better: Lower},
			{Name: "gpu.cpu-allocation", Unit: "%", Value: 32.5, Better: Neither},
			{Name: "gpu.pods.unplaced", Unit: "pods", Value: 7, Better: Lower},
		}},
		{"protocol to 80%", &GPUResult{GPUs: 8, Allocation: 0.4, Curve: curve(80)}, []Metric{
			{Name: "gpu.unallocated", Unit: "GPUs", Value: 4.8, Better: Lower},
			{Name: "gpu.allocation.arrived-80", Unit: "%", Value: 40, Better: Higher},
			{Name: "gpu.fragmentation", Unit: "GPUs", Value: 8, Better: Lower},
			{Name: "gpu.fragmentation.rate", Unit: "%", Value: 8, Better: Lower},
			{Name: "gpu.cpu-allocation", Unit: "%", Value: 20, Better: Neither},
			{Name: "gpu.pods.unplaced", Unit: "pods", Value: 7, Better: Lower},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := gpuMetrics(tc.g)
			for i := range got {
				got[i].Value = float64(int64(got[i].Value*1e9+0.5)) / 1e9 // 2.8000000000000003
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
