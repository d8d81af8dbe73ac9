package podautoscaler

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// step is one sync of a normalization scenario: at offset from t0 the metrics ask for
// desired replicas while the target has current; the sync should decide want, with the
// given ScalingLimited and AbleToScale reasons. A rescale is remembered as the controller
// does after a successful update.
type step struct {
	at                      time.Duration
	current, desired, want  int32
	limitReason, ableReason string
}

func policy(t autoscalingv2.HPAScalingPolicyType, value, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: t, Value: value, PeriodSeconds: period}
}

func TestNormalize(t *testing.T) {
	minSel, disabled := autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect
	oneAMinute := &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{policy(autoscalingv2.PodsScalingPolicy, 1, 60)}}
	zero := int32(0)
	oneAMinute.StabilizationWindowSeconds = &zero
	cases := []struct {
		name     string
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior // nil: legacy
		max      int32
		steps    []step
	}{
		{name: "default behavior: 4 pods or 100% per 15 s, whichever is more", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, max: 100, steps: []step{
			{at: 0, current: 2, desired: 20, want: 6, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
			// 10 s later the period still holds the +4: the count at its start was 2.
			{at: 10 * time.Second, current: 6, desired: 20, want: 6, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
			// 15 s after the scale-up the period is clear: max(6+4, 2×6).
			{at: 15 * time.Second, current: 6, desired: 20, want: 12, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
			{at: 30 * time.Second, current: 12, desired: 20, want: 20, limitReason: "DesiredWithinRange", ableReason: "ReadyForNewScale"},
		}},
		{name: "selectPolicy Min picks the smaller change", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: &minSel}}, max: 100, steps: []step{
			{at: 0, current: 2, desired: 20, want: 4, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
		}},
		{name: "selectPolicy Disabled never scales up", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled}}, max: 100, steps: []step{
			{at: 0, current: 2, desired: 20, want: 2, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
		}},
		{name: "maxReplicas below the rate limit", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, max: 5, steps: []step{
			{at: 0, current: 2, desired: 20, want: 5, limitReason: "TooManyReplicas", ableReason: "ReadyForNewScale"},
		}},
		{name: "scale-down waits for the 300 s window, then goes all the way", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, max: 10, steps: []step{
			{at: 0, current: 6, desired: 6, want: 6, limitReason: "DesiredWithinRange", ableReason: "ReadyForNewScale"},
			{at: 15 * time.Second, current: 6, desired: 2, want: 6, limitReason: "DesiredWithinRange", ableReason: "ScaleDownStabilized"},
			{at: 299 * time.Second, current: 6, desired: 2, want: 6, limitReason: "DesiredWithinRange", ableReason: "ScaleDownStabilized"},
			// The recommendation of t=0 is exactly 300 s old: no longer inside the window.
			{at: 300 * time.Second, current: 6, desired: 2, want: 2, limitReason: "DesiredWithinRange", ableReason: "ReadyForNewScale"},
		}},
		{name: "a Pods scale-down policy removes one pod a minute", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: oneAMinute}, max: 10, steps: []step{
			{at: 0, current: 6, desired: 2, want: 5, limitReason: "ScaleDownLimit", ableReason: "ReadyForNewScale"},
			{at: 30 * time.Second, current: 5, desired: 2, want: 5, limitReason: "ScaleDownLimit", ableReason: "ReadyForNewScale"},
			{at: 60 * time.Second, current: 5, desired: 2, want: 4, limitReason: "ScaleDownLimit", ableReason: "ReadyForNewScale"},
		}},
		{name: "legacy: max(2×current, 4) per sync", max: 100, steps: []step{
			{at: 0, current: 2, desired: 20, want: 4, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
			{at: 15 * time.Second, current: 4, desired: 20, want: 8, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
			{at: 30 * time.Second, current: 8, desired: 20, want: 16, limitReason: "ScaleUpLimit", ableReason: "ReadyForNewScale"},
		}},
		{name: "legacy: maxReplicas", max: 3, steps: []step{
			{at: 0, current: 2, desired: 20, want: 3, limitReason: "TooManyReplicas", ableReason: "ReadyForNewScale"},
		}},
		{name: "legacy: minReplicas", max: 10, steps: []step{
			{at: 0, current: 2, desired: 0, want: 2, limitReason: "DesiredWithinRange", ableReason: "ScaleDownStabilized"},
			{at: 301 * time.Second, current: 2, desired: 0, want: 1, limitReason: "TooFewReplicas", ableReason: "ReadyForNewScale"},
		}},
		{name: "legacy: the window includes a recommendation exactly 300 s old", max: 10, steps: []step{
			{at: 0, current: 6, desired: 6, want: 6, limitReason: "DesiredWithinRange", ableReason: "ReadyForNewScale"},
			{at: 300 * time.Second, current: 6, desired: 2, want: 6, limitReason: "DesiredWithinRange", ableReason: "ScaleDownStabilized"},
			{at: 301 * time.Second, current: 6, desired: 2, want: 2, limitReason: "DesiredWithinRange", ableReason: "ReadyForNewScale"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &history{recommendations: []recommendation{{tc.steps[0].current, t0}}}
			for _, s := range tc.steps {
				now := t0.Add(s.at)
				var d decision
				if tc.behavior == nil {
					d = h.normalizeLegacy(now, DefaultDownscaleStabilization, s.current, s.desired, 1, tc.max)
				} else {
					up := defaultRules(tc.behavior.ScaleUp, true, DefaultDownscaleStabilization)
					down := defaultRules(tc.behavior.ScaleDown, false, DefaultDownscaleStabilization)
					d = h.normalizeWithBehavior(now, up, down, s.current, s.desired, 1, tc.max)
				}
				if d.replicas != s.want || d.limitReason != s.limitReason || d.ableReason != s.ableReason {
					t.Fatalf("at %v (%d → %d): got %d %s/%s, want %d %s/%s", s.at, s.current, s.desired, d.replicas, d.limitReason, d.ableReason, s.want, s.limitReason, s.ableReason)
				}
				if d.replicas != s.current {
					h.storeScaleEvent(now, tc.behavior, s.current, d.replicas)
				}
			}
		})
	}
}
