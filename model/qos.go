package model

import (
	corev1 "k8s.io/api/core/v1"
)

// PodQOSClass returns the pod's quality-of-service class as the API server computes it:
// BestEffort when no container requests or limits cpu or memory, Guaranteed when every
// container limits both and requests equal limits, Burstable otherwise.
func PodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	check := func(c *corev1.Container) {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				any = true
			}
			if !hasLim || lim.IsZero() {
				guaranteed = false
				continue
			}
			if hasReq && req.Cmp(lim) != 0 {
				guaranteed = false
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
