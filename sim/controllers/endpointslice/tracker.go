package endpointslice

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointsliceutil"
)

// deletionExpected marks a slice the controller deleted and has not yet seen go.
const deletionExpected = -1

// sliceTracker remembers, per Service, the version of every slice the controller wrote, so
// that a sync reading an informer cache that has not yet caught up with those writes waits
// instead of acting on stale slices, as upstream's EndpointSliceTracker. Upstream compares
// metadata.generation; Orrery's API server bumps the generation only for objects with a spec,
// so the tracker compares resourceVersions, which grow with every write.
type sliceTracker struct {
	byService map[string]map[types.UID]int64
}

func newSliceTracker() *sliceTracker {
	return &sliceTracker{byService: map[string]map[types.UID]int64{}}
}

func version(s *discoveryv1.EndpointSlice) int64 {
	v, _ := strconv.ParseInt(s.ResourceVersion, 10, 64)
	return v
}

func sliceServiceKey(s *discoveryv1.EndpointSlice) string {
	return endpointsliceutil.ServiceKey(s.Namespace, s.Labels[discoveryv1.LabelServiceName])
}

// has reports whether the slice is tracked.
func (t *sliceTracker) has(s *discoveryv1.EndpointSlice) bool {
	_, ok := t.byService[sliceServiceKey(s)][s.UID]
	return ok
}

// shouldSync reports whether a slice event is news to the controller: an untracked slice,
// or a newer version than the controller wrote.
func (t *sliceTracker) shouldSync(s *discoveryv1.EndpointSlice) bool {
	v, ok := t.byService[sliceServiceKey(s)][s.UID]
	return !ok || version(s) > v
}

// stale reports whether the cached slices lag the controller's writes: a slice older than
// written, a slice expected to be gone, or a written slice missing from the cache.
func (t *sliceTracker) stale(svc *corev1.Service, slices []*discoveryv1.EndpointSlice) bool {
	tracked, ok := t.byService[endpointsliceutil.ServiceKey(svc.Namespace, svc.Name)]
	if !ok {
		return false
	}
	seen := make(map[types.UID]bool, len(slices))
	for _, s := range slices {
		seen[s.UID] = true
		if v, ok := tracked[s.UID]; ok && (v == deletionExpected || v > version(s)) {
			return true
		}
	}
	for uid, v := range tracked {
		if v != deletionExpected && !seen[uid] {
			return true
		}
	}
	return false
}

func (t *sliceTracker) set(s *discoveryv1.EndpointSlice, v int64) {
	key := sliceServiceKey(s)
	m := t.byService[key]
	if m == nil {
		m = map[types.UID]int64{}
		t.byService[key] = m
	}
	m[s.UID] = v
}

// update records a slice the controller created or updated.
func (t *sliceTracker) update(s *discoveryv1.EndpointSlice) { t.set(s, version(s)) }

// expectDeletion records a slice the controller deleted.
func (t *sliceTracker) expectDeletion(s *discoveryv1.EndpointSlice) { t.set(s, deletionExpected) }

// handleDeletion forgets a deleted slice and reports whether the controller expected it.
func (t *sliceTracker) handleDeletion(s *discoveryv1.EndpointSlice) bool {
	m := t.byService[sliceServiceKey(s)]
	v, ok := m[s.UID]
	delete(m, s.UID)
	return !ok || v == deletionExpected
}

// deleteService forgets a deleted Service.
func (t *sliceTracker) deleteService(key string) { delete(t.byService, key) }
