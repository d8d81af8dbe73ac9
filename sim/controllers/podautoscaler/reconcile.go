package podautoscaler

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

// reconcile is upstream's reconcileAutoscaler: read the target's scale, compute the
// desired replicas from the metrics, normalize them, rescale, and report.
func (c *Controller) reconcile(key string, shared *autoscalingv2.HorizontalPodAutoscaler) {
	h := shared.DeepCopy()
	old := h.Status.DeepCopy()
	now := c.clock.Now()

	s, err := c.getScale(h)
	if err != nil {
		c.event(h, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		c.setCondition(h, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		_ = c.updateStatusIfNeeded(old, h)
		return
	}
	c.setCondition(h, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := s.specReplicas
	hist := c.history[key]
	if hist == nil {
		hist = &history{recommendations: []recommendation{{current, now}}}
		c.history[key] = hist
	}

	minReplicas := int32(1)
	if h.Spec.MinReplicas != nil {
		minReplicas = *h.Spec.MinReplicas
	}
	var (
		desired  int32
		reason   string
		statuses []autoscalingv2.MetricStatus
		rescale  = true
	)
	switch {
	case current == 0 && minReplicas != 0:
		rescale = false
		c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > h.Spec.MaxReplicas:
		reason, desired = "Current number of replicas above Spec.MaxReplicas", h.Spec.MaxReplicas
	case current < minReplicas:
		reason, desired = "Current number of replicas below Spec.MinReplicas", minReplicas
	default:
		var metricDesired int32
		var metricName string
		metricDesired, metricName, statuses, err = c.computeReplicasForMetrics(key, h, s, now)
		if err != nil && metricDesired == -1 {
			c.setStatus(h, current, h.Status.DesiredReplicas, statuses, false)
			_ = c.updateStatusIfNeeded(old, h)
			c.event(h, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return
		}
		if metricDesired > desired {
			desired = metricDesired
		}
		if desired > current {
			reason = metricName + " above target"
		}
		if desired < current {
			reason = "All metrics below target"
		}
		var d decision
		if h.Spec.Behavior == nil {
			d = hist.normalizeLegacy(now, c.opts.DownscaleStabilization, current, desired, minReplicas, h.Spec.MaxReplicas)
		} else {
			up := defaultRules(h.Spec.Behavior.ScaleUp, true, c.opts.DownscaleStabilization)
			down := defaultRules(h.Spec.Behavior.ScaleDown, false, c.opts.DownscaleStabilization)
			d = hist.normalizeWithBehavior(now, up, down, current, desired, minReplicas, h.Spec.MaxReplicas)
		}
		c.setCondition(h, autoscalingv2.AbleToScale, corev1.ConditionTrue, d.ableReason, "%s", d.ableMessage)
		c.setCondition(h, autoscalingv2.ScalingLimited, conditionStatus(d.limited), d.limitReason, "%s", d.limitMessage)
		desired = d.replicas
		rescale = desired != current
	}

	if rescale {
		if err := c.updateScale(h, s, desired); err != nil {
			c.event(h, corev1.EventTypeWarning, "FailedRescale", fmt.Sprintf("New size: %d; reason: %s; error: %v", desired, reason, err))
			c.setCondition(h, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			c.setStatus(h, current, h.Status.DesiredReplicas, statuses, false)
			_ = c.updateStatusIfNeeded(old, h)
			return
		}
		c.setCondition(h, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		msg := fmt.Sprintf("New size: %d; reason: %s", desired, reason)
		c.event(h, corev1.EventTypeNormal, "SuccessfulRescale", msg)
		c.log.Action(c.identity, "SuccessfulRescale", "horizontalpodautoscalers", h.Namespace, h.Name, msg)
		hist.storeScaleEvent(now, h.Spec.Behavior, current, desired)
	} else {
		desired = current
	}
	c.setStatus(h, current, desired, statuses, rescale)
	_ = c.updateStatusIfNeeded(old, h)
}

// computeReplicasForMetrics is upstream's: the highest proposal of the valid metrics, the
// metric that made it, and every metric's status. It returns -1 with an error when no
// metric is valid, or when some are not and the valid ones would scale down (scaling
// down on partial information is unsafe); otherwise the error of the first invalid
// metric, if any, comes with a usable proposal.
func (c *Controller) computeReplicasForMetrics(key string, h *autoscalingv2.HorizontalPodAutoscaler, s *scale, now time.Time) (int32, string, []autoscalingv2.MetricStatus, error) {
	selector, err := c.parseSelector(key, h, s.selector)
	if err != nil {
		return -1, "", nil, err
	}
	statuses := make([]autoscalingv2.MetricStatus, len(h.Spec.Metrics))
	var (
		replicas    int32
		metric      string
		invalid     int
		firstErr    error
		invalidCond metricFailure
	)
	for i, spec := range h.Spec.Metrics {
		proposal, name, failure, err := c.computeReplicasForMetric(h, spec, s.specReplicas, selector, now, &statuses[i])
		if err != nil {
			if invalid == 0 {
				invalidCond, firstErr = failure, err
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas, metric = proposal, name
		}
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("invalid metrics (%d invalid out of %d), first error is: %v", invalid, len(h.Spec.Metrics), firstErr)
	}
	if invalid >= len(h.Spec.Metrics) || (invalid > 0 && replicas < s.specReplicas) {
		c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, invalidCond.reason, "%s", invalidCond.message)
		return -1, "", statuses, firstErr
	}
	c.setCondition(h, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", metric)
	return replicas, metric, statuses, firstErr
}

// metricFailure is the ScalingActive condition a failed metric proposes.
type metricFailure struct {
	reason, message string
}

// failMetric records the Warning event of a metric that could not be computed and returns
// the condition it proposes, as upstream's getUnableComputeReplicaCountCondition.
func (c *Controller) failMetric(h *autoscalingv2.HorizontalPodAutoscaler, reason string, err error) metricFailure {
	c.event(h, corev1.EventTypeWarning, reason, err.Error())
	return metricFailure{reason: reason, message: fmt.Sprintf("the HPA was unable to compute the replica count: %v", err)}
}

// computeReplicasForMetric computes one metric's proposal and status. Resource and
// ContainerResource metrics come from the MetricsSource; Orrery serves no custom or
// external metrics API, so Pods, Object and External metrics always fail.
func (c *Controller) computeReplicasForMetric(h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, current int32, selector labels.Selector, now time.Time, status *autoscalingv2.MetricStatus) (int32, string, metricFailure, error) {
	noAPI := fmt.Errorf("the server could not find the requested resource (no custom or external metrics API is served)")
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			return 0, "", c.failMetric(h, "FailedGetResourceMetric", errMissingSource), errMissingSource
		}
		n, value, name, err := c.computeResource(h, current, spec.Resource.Target, spec.Resource.Name, "", selector, now)
		if err != nil {
			f := c.failMetric(h, "FailedGetResourceMetric", err)
			return 0, "", f, fmt.Errorf("failed to get %s resource metric value: %v", spec.Resource.Name, err)
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, Resource: &autoscalingv2.ResourceMetricStatus{Name: spec.Resource.Name, Current: *value}}
		return n, name, metricFailure{}, nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		cr := spec.ContainerResource
		if cr == nil {
			return 0, "", c.failMetric(h, "FailedGetContainerResourceMetric", errMissingSource), errMissingSource
		}
		n, value, name, err := c.computeResource(h, current, cr.Target, cr.Name, cr.Container, selector, now)
		if err != nil {
			f := c.failMetric(h, "FailedGetContainerResourceMetric", err)
			return 0, "", f, fmt.Errorf("failed to get %s container metric value: %v", cr.Container, err)
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: cr.Name, Container: cr.Container, Current: *value}}
		return n, name, metricFailure{}, nil
	case autoscalingv2.PodsMetricSourceType:
		err := fmt.Errorf("unable to get metric %s: %v", metricName(spec), noAPI)
		return 0, "", c.failMetric(h, "FailedGetPodsMetric", err), fmt.Errorf("failed to get pods metric value: %v", err)
	case autoscalingv2.ObjectMetricSourceType:
		err := fmt.Errorf("unable to get metric %s: %v", metricName(spec), noAPI)
		return 0, "", c.failMetric(h, "FailedGetObjectMetric", err), fmt.Errorf("failed to get object metric value: %v", err)
	case autoscalingv2.ExternalMetricSourceType:
		err := fmt.Errorf("unable to get external metric %s/%s: %v", h.Namespace, metricName(spec), noAPI)
		return 0, "", c.failMetric(h, "FailedGetExternalMetric", err), fmt.Errorf("failed to get %s external metric value: %v", metricName(spec), err)
	default:
		err := fmt.Errorf("unknown metric source type %q", string(spec.Type))
		return 0, "", c.failMetric(h, "InvalidMetricSourceType", err), err
	}
}

var errMissingSource = fmt.Errorf("invalid resource metric source: the metric source is not set")

// metricName returns the name of a custom or external metric.
func metricName(spec autoscalingv2.MetricSpec) string {
	switch {
	case spec.Pods != nil:
		return spec.Pods.Metric.Name
	case spec.Object != nil:
		return spec.Object.Metric.Name
	case spec.External != nil:
		return spec.External.Metric.Name
	}
	return ""
}

// computeResource is upstream's computeStatusForResourceMetricGeneric: an AverageValue
// target compares the average raw usage, a Utilization target the percentage of request.
func (c *Controller) computeResource(h *autoscalingv2.HorizontalPodAutoscaler, current int32, target autoscalingv2.MetricTarget, res corev1.ResourceName, container string, selector labels.Selector, now time.Time) (int32, *autoscalingv2.MetricValueStatus, string, error) {
	if target.AverageValue == nil && target.AverageUtilization == nil {
		return 0, nil, "", fmt.Errorf("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	samples, _, err := resourceSamples(c.metrics, h.Namespace, selector, res, container)
	in := &calc{
		pods: c.podsFor(h.Namespace, selector), samples: samples, resource: res, container: container,
		current: current, tol: c.tolerances(h), now: now,
		cpuInit: c.opts.CPUInitializationPeriod, readinessDelay: c.opts.InitialReadinessDelay,
	}
	if target.AverageValue != nil {
		if err != nil {
			return 0, nil, "", fmt.Errorf("failed to get %s usage: %v", res, err)
		}
		n, usage, err := in.averageValueReplicas(target.AverageValue.MilliValue())
		if err != nil {
			return 0, nil, "", fmt.Errorf("failed to get %s usage: %v", res, err)
		}
		return n, &autoscalingv2.MetricValueStatus{AverageValue: resource.NewMilliQuantity(usage, resource.DecimalSI)}, fmt.Sprintf("%s resource", res), nil
	}
	if err != nil {
		return 0, nil, "", fmt.Errorf("failed to get %s utilization: %v", res, err)
	}
	n, utilization, raw, err := in.utilizationReplicas(*target.AverageUtilization)
	if err != nil {
		return 0, nil, "", fmt.Errorf("failed to get %s utilization: %v", res, err)
	}
	name := fmt.Sprintf("%s resource utilization (percentage of request)", res)
	if container != "" {
		name = fmt.Sprintf("%s container resource utilization (percentage of request)", res)
	}
	return n, &autoscalingv2.MetricValueStatus{AverageUtilization: &utilization, AverageValue: resource.NewMilliQuantity(raw, resource.DecimalSI)}, name, nil
}

// tolerances returns the HPA's tolerances: the cluster-wide one, or with
// ConfigurableTolerance the behavior's per-direction ones where set.
func (c *Controller) tolerances(h *autoscalingv2.HorizontalPodAutoscaler) tolerances {
	t := tolerances{down: c.opts.Tolerance, up: c.opts.Tolerance}
	b := h.Spec.Behavior
	if b == nil || !c.opts.ConfigurableTolerance {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.down = b.ScaleDown.Tolerance.AsApproximateFloat64()
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.up = b.ScaleUp.Tolerance.AsApproximateFloat64()
	}
	return t
}
