package daemonset

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/controllers"
)

// surgeCount is maxSurge scaled to n nodes (percentages round up), 0 unless RollingUpdate.
func surgeCount(ds *appsv1.DaemonSet, n int) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return 0
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, n, true)
	if err != nil {
		return 0
	}
	return v
}

// unavailableCount is maxUnavailable scaled to n nodes (percentages round up), 0 unless
// RollingUpdate.
func unavailableCount(ds *appsv1.DaemonSet, n int) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxUnavailable == nil {
		return 0
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, n, true)
	if err != nil {
		return 0
	}
	return v
}

// allowsSurge reports whether the DaemonSet may run a new pod beside an old one.
func allowsSurge(ds *appsv1.DaemonSet) bool { return surgeCount(ds, 1) != 0 }

// isPodUpdated reports whether a pod runs the current template: its hash label, or its
// pod-template-generation label, matches.
func isPodUpdated(p *corev1.Pod, hash, gen string) bool {
	return (hash != "" && p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash) ||
		p.Labels[LabelTemplateGeneration] == gen
}

// updatedPodsOnNode splits a node's live daemon pods into the new and the old one; ok is
// false when there are more than one of either (manage cleans those up first).
func updatedPodsOnNode(pods []*corev1.Pod, hash, gen string) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if isPodUpdated(p, hash, gen) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// rollingUpdate replaces old pods within maxUnavailable (deleting old pods; manage then
// creates the new ones) or maxSurge (creating new pods beside old ones; an old pod goes
// once its replacement is available), as upstream's rollingUpdate. Terminating pods do not
// count as unavailable, so a rollout progresses while nodes are down.
func (c *Controller) rollingUpdate(st *state) error {
	ds, hash, gen := st.ds, st.hash, st.gen
	byNode := make(map[string][]*corev1.Pod, len(st.byNode))
	for n, pods := range st.byNode {
		byNode[n] = pods
	}
	desired := 0
	shouldRun := map[string]bool{}
	for i, n := range st.nodes {
		if st.run[i] {
			desired++
			shouldRun[n.Name] = true
			if _, ok := byNode[n.Name]; !ok {
				byNode[n.Name] = nil
			}
		}
	}
	maxSurge, maxUnavailable := surgeCount(ds, desired), unavailableCount(ds, desired)
	if desired > 0 && maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1 // an impossible configuration: accept unavailability, as upstream
	}
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Strings(names)
	now := c.clock.Now()
	available := func(p *corev1.Pod) bool { return controllers.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) }

	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []string
		for _, node := range names {
			newPod, oldPod, ok := updatedPodsOnNode(byNode[node], hash, gen)
			switch {
			case !ok:
				unavailable++ // manage cleans this node up first
			case oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				unavailable++ // manage creates or deletes here
			case newPod != nil:
				if !available(newPod) {
					unavailable++
				}
			case !available(oldPod):
				// An old pod that is not available anyway is replaced at once.
				replace = append(replace, oldPod.Name)
				unavailable++
			case unavailable >= maxUnavailable:
			default:
				candidates = append(candidates, oldPod.Name)
			}
		}
		remaining := max(0, min(maxUnavailable-unavailable, len(candidates)))
		return c.syncNodes(st, append(replace, candidates[:remaining]...), nil)
	}

	var toDelete, notRunToDelete, candidateNodes, allowedNodes []string
	surge, avail := 0, 0
	for _, node := range names {
		newPod, oldPod, ok := updatedPodsOnNode(byNode[node], hash, gen)
		if !ok {
			surge++
			continue
		}
		if oldPod != nil {
			if available(oldPod) {
				avail++
			}
		} else if newPod != nil && available(newPod) {
			avail++
		}
		switch {
		case oldPod == nil:
			// manage handles this node
		case newPod == nil:
			if !shouldRun[node] {
				if !available(oldPod) {
					toDelete = append(toDelete, oldPod.Name)
				} else {
					notRunToDelete = append(notRunToDelete, oldPod.Name)
				}
				continue
			}
			if !available(oldPod) {
				allowedNodes = append(allowedNodes, node)
			} else if surge < maxSurge {
				candidateNodes = append(candidateNodes, node)
			}
		default:
			if !available(newPod) {
				surge++ // waiting for the new pod
				continue
			}
			toDelete = append(toDelete, oldPod.Name)
		}
	}
	// With surge the owner expects full availability: a pod on a node the DaemonSet left
	// goes only once enough pods are available elsewhere.
	if deletable := min(avail-desired, len(notRunToDelete)); deletable > 0 {
		toDelete = append(toDelete, notRunToDelete[:deletable]...)
	}
	remaining := max(0, min(maxSurge-surge, len(candidateNodes)))
	return c.syncNodes(st, toDelete, append(allowedNodes, candidateNodes[:remaining]...))
}
