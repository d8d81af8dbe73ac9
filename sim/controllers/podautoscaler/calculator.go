package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// tolerances bound the usage ratio (current/target) within which the controller keeps
// the current replica count.
type tolerances struct {
	down, up float64
}

// within reports whether ratio is close enough to 1 to leave the replicas alone.
func (t tolerances) within(ratio float64) bool {
	return 1.0-t.down <= ratio && ratio <= 1.0+t.up
}

// calc is the input of one replica calculation over the pods an HPA's target selects,
// as upstream's ReplicaCalculator sees them.
type calc struct {
	// pods are the pods the target's selector matches in the HPA's namespace.
	pods []*corev1.Pod
	// samples are the pods' metric values by pod name, in milli-units.
	samples map[string]sample
	// resource is the resource measured; CPU samples get the readiness treatment.
	resource corev1.ResourceName
	// container restricts requests to one container ("" for the whole pod).
	container string
	// current is the target's current replica count.
	current int32
	tol     tolerances
	now     time.Time
	// cpuInit and readinessDelay are --horizontal-pod-autoscaler-cpu-initialization-period
	// and --horizontal-pod-autoscaler-initial-readiness-delay.
	cpuInit, readinessDelay time.Duration
}

// groups sorts the pods into those that count, and by name those that are unready,
// missing metrics or ignored (deleted or failed).
type groups struct {
	ready                     int
	unready, missing, ignored map[string]bool
}

// group classifies the pods as upstream's groupPods does: deleted and failed pods are
// ignored; pending pods are unready; pods without a sample are missing; for CPU, a pod
// without a Ready condition or start time is unready, and so is one still within the CPU
// initialization period that is not ready or whose sample's window began before it became
// ready, or (past that period) one that is not ready and never was since it started.
func (c *calc) group() groups {
	g := groups{unready: map[string]bool{}, missing: map[string]bool{}, ignored: map[string]bool{}}
	for _, pod := range c.pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed {
			g.ignored[pod.Name] = true
			continue
		}
		if pod.Status.Phase == corev1.PodPending {
			g.unready[pod.Name] = true
			continue
		}
		s, ok := c.samples[pod.Name]
		if !ok {
			g.missing[pod.Name] = true
			continue
		}
		if c.resource == corev1.ResourceCPU && c.cpuUnready(pod, s) {
			g.unready[pod.Name] = true
			continue
		}
		g.ready++
	}
	return g
}

func (c *calc) cpuUnready(pod *corev1.Pod, s sample) bool {
	var cond *corev1.PodCondition
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			cond = &pod.Status.Conditions[i]
			break
		}
	}
	if cond == nil || pod.Status.StartTime == nil {
		return true
	}
	start := pod.Status.StartTime.Time
	if start.Add(c.cpuInit).After(c.now) {
		return cond.Status == corev1.ConditionFalse || s.timestamp.Before(cond.LastTransitionTime.Add(s.window))
	}
	return cond.Status == corev1.ConditionFalse && start.Add(c.readinessDelay).After(cond.LastTransitionTime.Time)
}

// metricsFor returns the samples of the pods that count (neither ignored nor unready).
func (c *calc) metricsFor(g groups) map[string]int64 {
	m := make(map[string]int64, len(c.samples))
	for name, s := range c.samples {
		if !g.ignored[name] && !g.unready[name] {
			m[name] = s.value
		}
	}
	return m
}

// requests returns each pod's request of the resource in milli-units: the named
// container's, or the sum over its containers and restartable (sidecar) init containers.
func (c *calc) requests() (map[string]int64, error) {
	out := make(map[string]int64, len(c.pods))
	for _, pod := range c.pods {
		containers := append([]corev1.Container(nil), pod.Spec.Containers...)
		for _, ic := range pod.Spec.InitContainers {
			if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				containers = append(containers, ic)
			}
		}
		var sum int64
		found := false
		for _, ctr := range containers {
			if c.container != "" && ctr.Name != c.container {
				continue
			}
			q, ok := ctr.Resources.Requests[c.resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", c.resource, ctr.Name, pod.Name)
			}
			sum += q.MilliValue()
			found = true
		}
		if c.container != "" && !found {
			return nil, fmt.Errorf("container %s not found in Pod %s", c.container, pod.Name)
		}
		out[pod.Name] = sum
	}
	return out, nil
}

// errNoPods and errNoReadyMetrics are upstream's messages when there is nothing to measure.
var (
	errNoPods         = errors.New("no pods returned by selector while calculating replica count")
	errNoReadyMetrics = errors.New("did not receive metrics for targeted pods (pods might be unready)")
)

// utilizationRatio is upstream's GetResourceUtilizationRatio: the pods' total usage as a
// whole percentage of their total request, that over the target, and the average raw
// usage per pod.
func utilizationRatio(metrics, requests map[string]int64, target int32) (ratio float64, utilization int32, raw int64, err error) {
	var usage, request, n int64
	for name, v := range metrics {
		r, ok := requests[name]
		if !ok {
			continue
		}
		usage += v
		request += r
		n++
	}
	if request == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(usage * 100 / request)
	return float64(utilization) / float64(target), utilization, usage / n, nil
}

// utilizationReplicas is upstream's GetResourceReplicas: the replica count that brings
// the pods' utilization (percent of request) to target, the current utilization and the
// average raw usage. Missing pods count as using 100% (or the target, if higher) of their
// request on a scale-down and 0% on a scale-up; unready pods count as 0% on a scale-up;
// a change that would flip direction once they are counted, or stays within tolerance,
// keeps the current count.
func (c *calc) utilizationReplicas(target int32) (replicas, utilization int32, raw int64, err error) {
	if len(c.pods) == 0 {
		return 0, 0, 0, errNoPods
	}
	g := c.group()
	metrics := c.metricsFor(g)
	if len(metrics) == 0 {
		return 0, 0, 0, errNoReadyMetrics
	}
	requests, err := c.requests()
	if err != nil {
		return 0, 0, 0, err
	}
	ratio, utilization, raw, err := utilizationRatio(metrics, requests, target)
	if err != nil {
		return 0, 0, 0, err
	}
	upWithUnready := len(g.unready) > 0 && ratio > 1.0
	if !upWithUnready && len(g.missing) == 0 {
		if c.tol.within(ratio) {
			return c.current, utilization, raw, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), utilization, raw, nil
	}
	if len(g.missing) > 0 {
		switch {
		case ratio < 1.0:
			fallback := int64(max(100, target))
			for name := range g.missing {
				metrics[name] = requests[name] * fallback / 100
			}
		case ratio > 1.0:
			for name := range g.missing {
				metrics[name] = 0
			}
		}
	}
	if upWithUnready {
		for name := range g.unready {
			metrics[name] = 0
		}
	}
	newRatio, _, _, err := utilizationRatio(metrics, requests, target)
	if err != nil {
		return 0, utilization, raw, err
	}
	return c.rebalanced(ratio, newRatio, len(metrics)), utilization, raw, nil
}

// rebalanced finishes a calculation that had to fill in missing or unready pods: the
// count from the new ratio over every pod counted, unless that is within tolerance or
// scales the other way than the measured pods asked.
func (c *calc) rebalanced(ratio, newRatio float64, counted int) int32 {
	if c.tol.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return c.current
	}
	n := int32(math.Ceil(newRatio * float64(counted)))
	if (newRatio < 1.0 && n > c.current) || (newRatio > 1.0 && n < c.current) {
		return c.current
	}
	return n
}

// usageRatio is upstream's GetMetricUsageRatio: the average usage per pod over target.
func usageRatio(metrics map[string]int64, target int64) (float64, int64) {
	var total int64
	for _, v := range metrics {
		total += v
	}
	usage := total / int64(len(metrics))
	return float64(usage) / float64(target), usage
}

// averageValueReplicas is upstream's calcPlainMetricReplicas for an AverageValue target
// (milli-units): missing pods count as using exactly the target on a scale-down and
// nothing on a scale-up; unready pods as nothing on a scale-up.
func (c *calc) averageValueReplicas(target int64) (replicas int32, usage int64, err error) {
	if len(c.pods) == 0 {
		return 0, 0, errNoPods
	}
	g := c.group()
	metrics := c.metricsFor(g)
	if len(metrics) == 0 {
		return 0, 0, errNoReadyMetrics
	}
	ratio, usage := usageRatio(metrics, target)
	upWithUnready := len(g.unready) > 0 && ratio > 1.0
	if !upWithUnready && len(g.missing) == 0 {
		if c.tol.within(ratio) {
			return c.current, usage, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), usage, nil
	}
	if len(g.missing) > 0 {
		switch {
		case ratio < 1.0:
			for name := range g.missing {
				metrics[name] = target
			}
		case ratio > 1.0:
			for name := range g.missing {
				metrics[name] = 0
			}
		}
	}
	if upWithUnready {
		for name := range g.unready {
			metrics[name] = 0
		}
	}
	newRatio, _ := usageRatio(metrics, target)
	return c.rebalanced(ratio, newRatio, len(metrics)), usage, nil
}
