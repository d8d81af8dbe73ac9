package podautoscaler

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Scale-up limit of an HPA without behavior, as upstream's scaleUpLimitFactor and
// scaleUpLimitMinimum: one sync may raise the replicas to max(2 × current, 4).
const (
	ScaleUpLimitFactor  = 2.0
	ScaleUpLimitMinimum = 4.0
)

// recommendation is one unstabilized desired replica count and when it was computed.
type recommendation struct {
	replicas int32
	at       time.Time
}

// scaleEvent is one rescale the controller made: how many replicas it added or removed
// (a non-negative count) and when; an outdated event is free for reuse.
type scaleEvent struct {
	change   int32
	at       time.Time
	outdated bool
}

// history is what the controller remembers of one HPA between syncs, as upstream keeps
// per-key recommendations and scale events in memory.
type history struct {
	recommendations []recommendation
	scaleUp         []scaleEvent
	scaleDown       []scaleEvent
}

// decision is a normalized replica count with the AbleToScale and ScalingLimited
// conditions that explain it.
type decision struct {
	replicas                  int32
	ableReason, ableMessage   string
	limited                   bool
	limitReason, limitMessage string
}

const (
	msgReadyForNewScale = "recommended size matches current size"
	msgDownStabilized   = "recent recommendations were higher than current one, applying the highest recent recommendation"
	msgUpStabilized     = "recent recommendations were lower than current one, applying the lowest recent recommendation"
	msgUpLimit          = "the desired replica count is increasing faster than the maximum scale rate"
	msgDownLimit        = "the desired replica count is decreasing faster than the maximum scale rate"
	msgTooMany          = "the desired replica count is more than the maximum replica count"
	msgTooFew           = "the desired replica count is less than the minimum replica count"
	msgWithinRange      = "the desired count is within the acceptable range"
)

// record stores rec in place of the last sample for which old is true, or appends it, as
// upstream reuses one stale slot per sync.
func (h *history) record(rec recommendation, old func(recommendation) bool) {
	idx := -1
	for i, r := range h.recommendations {
		if old(r) {
			idx = i
		}
	}
	if idx >= 0 {
		h.recommendations[idx] = rec
	} else {
		h.recommendations = append(h.recommendations, rec)
	}
}

// normalizeLegacy is upstream's normalizeDesiredReplicas for an HPA without behavior: the
// highest recommendation of the downscale stabilization window, then min/max and the
// max(2×, 4) scale-up limit.
func (h *history) normalizeLegacy(now time.Time, window time.Duration, current, desired, minReplicas, maxReplicas int32) decision {
	cutoff := now.Add(-window)
	stabilized := desired
	for _, r := range h.recommendations {
		if !r.at.Before(cutoff) && r.replicas > stabilized {
			stabilized = r.replicas
		}
	}
	h.record(recommendation{desired, now}, func(r recommendation) bool { return r.at.Before(cutoff) })
	d := decision{ableReason: "ReadyForNewScale", ableMessage: msgReadyForNewScale}
	if stabilized != desired {
		d.ableReason, d.ableMessage = "ScaleDownStabilized", msgDownStabilized
	}

	upLimit := int32(math.Max(ScaleUpLimitFactor*float64(current), ScaleUpLimitMinimum))
	maxAllowed, reason, message := maxReplicas, "TooManyReplicas", msgTooMany
	if maxReplicas > upLimit {
		maxAllowed, reason, message = upLimit, "ScaleUpLimit", msgUpLimit
	}
	d.replicas, d.limitReason, d.limitMessage = stabilized, "DesiredWithinRange", msgWithinRange
	switch {
	case stabilized < minReplicas:
		d.replicas, d.limitReason, d.limitMessage = minReplicas, "TooFewReplicas", msgTooFew
	case stabilized > maxAllowed:
		d.replicas, d.limitReason, d.limitMessage = maxAllowed, reason, message
	}
	d.limited = d.replicas != stabilized
	return d
}

// normalizeWithBehavior is upstream's normalizeDesiredReplicasWithBehaviors: the desired
// count is held between the lowest recommendation of the scale-up stabilization window and
// the highest of the scale-down one, then limited by the policies' rates over their
// periods and by min/max.
func (h *history) normalizeWithBehavior(now time.Time, up, down *autoscalingv2.HPAScalingRules, current, desired, minReplicas, maxReplicas int32) decision {
	upCutoff := now.Add(-windowOf(up))
	downCutoff := now.Add(-windowOf(down))
	upRec, downRec := desired, desired
	for _, r := range h.recommendations {
		if r.at.After(upCutoff) {
			upRec = min(upRec, r.replicas)
		}
		if r.at.After(downCutoff) {
			downRec = max(downRec, r.replicas)
		}
	}
	stabilized := max(current, upRec)
	stabilized = min(stabilized, downRec)
	h.record(recommendation{desired, now}, func(r recommendation) bool { return r.at.Before(upCutoff) && r.at.Before(downCutoff) })

	d := decision{ableReason: "ReadyForNewScale", ableMessage: msgReadyForNewScale}
	if stabilized != desired {
		if desired >= current {
			d.ableReason, d.ableMessage = "ScaleUpStabilized", msgUpStabilized
		} else {
			d.ableReason, d.ableMessage = "ScaleDownStabilized", msgDownStabilized
		}
	}

	d.replicas, d.limitReason, d.limitMessage = stabilized, "DesiredWithinRange", msgWithinRange
	switch {
	case stabilized > current:
		limit := max(scaleUpLimit(now, current, h.scaleUp, h.scaleDown, up), current)
		maxAllowed, reason, message := maxReplicas, "TooManyReplicas", msgTooMany
		if maxReplicas > limit {
			maxAllowed, reason, message = limit, "ScaleUpLimit", msgUpLimit
		}
		if stabilized > maxAllowed {
			d.replicas, d.limitReason, d.limitMessage = maxAllowed, reason, message
		}
	case stabilized < current:
		limit := min(scaleDownLimit(now, current, h.scaleUp, h.scaleDown, down), current)
		minAllowed, reason, message := minReplicas, "TooFewReplicas", msgTooFew
		if minReplicas < limit {
			minAllowed, reason, message = limit, "ScaleDownLimit", msgDownLimit
		}
		if stabilized < minAllowed {
			d.replicas, d.limitReason, d.limitMessage = minAllowed, reason, message
		}
	}
	d.limited = d.replicas != stabilized
	return d
}

// windowOf returns the rules' stabilization window.
func windowOf(r *autoscalingv2.HPAScalingRules) time.Duration {
	if r == nil || r.StabilizationWindowSeconds == nil {
		return 0
	}
	return time.Duration(*r.StabilizationWindowSeconds) * time.Second
}

// changeInPeriod sums the replicas changed by events within the last period.
func changeInPeriod(now time.Time, periodSeconds int32, events []scaleEvent) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.at.After(cutoff) {
			n += e.change
		}
	}
	return n
}

// selectPolicy returns the rules' select policy, Max if unset.
func selectPolicy(r *autoscalingv2.HPAScalingRules) autoscalingv2.ScalingPolicySelect {
	if r.SelectPolicy == nil {
		return autoscalingv2.MaxChangePolicySelect
	}
	return *r.SelectPolicy
}

// scaleUpLimit is upstream's calculateScaleUpLimitWithScalingRules: the most replicas the
// policies allow now, each policy measured from the count at the start of its period.
func scaleUpLimit(now time.Time, current int32, ups, downs []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(r)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MinInt32), func(a, b int32) int32 { return max(a, b) }
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MaxInt32, func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, ups) + changeInPeriod(now, p.PeriodSeconds, downs)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is upstream's calculateScaleDownLimitWithBehaviors: the fewest replicas
// the policies allow now.
func scaleDownLimit(now time.Time, current int32, ups, downs []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(r)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MaxInt32), func(a, b int32) int32 { return min(a, b) }
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MinInt32, func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, ups) + changeInPeriod(now, p.PeriodSeconds, downs)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// storeScaleEvent remembers a rescale for the behavior's rate limits, reusing a slot older
// than the direction's longest policy period.
func (h *history) storeScaleEvent(now time.Time, b *autoscalingv2.HorizontalPodAutoscalerBehavior, from, to int32) {
	if b == nil {
		return
	}
	rules, events, change := b.ScaleDown, &h.scaleDown, from-to
	if to > from {
		rules, events, change = b.ScaleUp, &h.scaleUp, to-from
	}
	var longest int32
	if rules != nil {
		for _, p := range rules.Policies {
			longest = max(longest, p.PeriodSeconds)
		}
	}
	cutoff := now.Add(-time.Duration(longest) * time.Second)
	idx := -1
	for i := range *events {
		if (*events)[i].at.Before(cutoff) {
			(*events)[i].outdated = true
		}
		if (*events)[i].outdated {
			idx = i
		}
	}
	e := scaleEvent{change: change, at: now}
	if idx >= 0 {
		(*events)[idx] = e
	} else {
		*events = append(*events, e)
	}
}

// defaultRules are upstream's GenerateHPAScaleUpRules/GenerateHPAScaleDownRules for rules
// left unset (the API server fills them in; objects that skipped defaulting get them here).
func defaultRules(r *autoscalingv2.HPAScalingRules, up bool, downWindow time.Duration) *autoscalingv2.HPAScalingRules {
	out := &autoscalingv2.HPAScalingRules{}
	if r != nil {
		out = r.DeepCopy()
	}
	if out.SelectPolicy == nil {
		p := autoscalingv2.MaxChangePolicySelect
		out.SelectPolicy = &p
	}
	if up {
		if out.StabilizationWindowSeconds == nil {
			out.StabilizationWindowSeconds = new(int32)
		}
		if out.Policies == nil {
			out.Policies = []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
			}
		}
		return out
	}
	if out.StabilizationWindowSeconds == nil {
		w := int32(downWindow / time.Second)
		out.StabilizationWindowSeconds = &w
	}
	if out.Policies == nil {
		out.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}
	}
	return out
}

// conditionStatus maps a bool to a condition status.
func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}
