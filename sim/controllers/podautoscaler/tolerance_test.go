package podautoscaler

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestTolerances(t *testing.T) {
	up, down := resource.MustParse("0.05"), resource.MustParse("0.2")
	withTol := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: &up}, ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: &down},
	}}}
	cases := []struct {
		name  string
		opts  Options
		hpa   *autoscalingv2.HorizontalPodAutoscaler
		ratio float64
		want  bool
	}{
		{name: "default 10%: 1.08 is within", hpa: withTol, ratio: 1.08, want: true},
		{name: "gate off ignores the HPA's tolerance", hpa: withTol, ratio: 0.85, want: false},
		{name: "gate on: 5% up", opts: Options{ConfigurableTolerance: true}, hpa: withTol, ratio: 1.08, want: false},
		{name: "gate on: 20% down", opts: Options{ConfigurableTolerance: true}, hpa: withTol, ratio: 0.85, want: true},
		{name: "cluster-wide tolerance option", opts: Options{Tolerance: 0.3}, hpa: &autoscalingv2.HorizontalPodAutoscaler{}, ratio: 1.25, want: true},
	}
	for _, tc := range cases {
		c := &Controller{opts: tc.opts.withDefaults()}
		if got := c.tolerances(tc.hpa).within(tc.ratio); got != tc.want {
			t.Errorf("%s: within(%v) = %v", tc.name, tc.ratio, got)
		}
	}
}
