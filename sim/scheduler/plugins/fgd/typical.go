package fgd

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
)

// DefaultPopularity is the share of a workload's pods its typical pods cover, as the
// artifact's experiments set it (podPopularityThreshold 95).
const DefaultPopularity = 0.95

// TypicalPods returns the pod shapes of a workload — (non-zero CPU request, GPU share,
// GPU count, GPU models) — most common first, as few as cover popularity (e.g. 0.95) of
// its pods, each weighted by its count: the artifact's GetTypicalPods with CPU-only pods
// included, an increase step of 1 and no GPU weighting. Equally common shapes come in
// decreasing order of CPU, then GPU share, count and models, as the artifact sorts them.
func TypicalPods(pods []*corev1.Pod, popularity float64) ([]TypicalPod, error) {
	if !(popularity > 0 && popularity <= 1) {
		return nil, fmt.Errorf("popularity %v: want a share of the pods in (0, 1]", popularity)
	}
	counts := map[TypicalPod]int64{}
	for _, p := range pods {
		r, err := gpushare.RequestOf(p)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		k := TypicalPod{CPU: framework.NewPodInfo(p).NonZero.MilliCPU, GPUMilli: r.Milli, GPUCount: r.Count, Model: r.ModelSpec}
		counts[k]++
	}
	list := make([]TypicalPod, 0, len(counts))
	for k, c := range counts {
		k.Weight = c
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		switch {
		case a.Weight != b.Weight:
			return a.Weight > b.Weight
		case a.CPU != b.CPU:
			return a.CPU > b.CPU
		case a.GPUMilli != b.GPUMilli:
			return a.GPUMilli > b.GPUMilli
		case a.GPUCount != b.GPUCount:
			return a.GPUCount > b.GPUCount
		}
		return a.Model > b.Model
	})
	want := popularity * float64(len(pods))
	var covered int64
	for i, s := range list {
		if float64(covered) >= want {
			return list[:i], nil
		}
		covered += s.Weight
	}
	return list, nil
}
