package deployment

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// annotationsToSkip are the Deployment annotations never copied to its ReplicaSets (and
// never copied back on rollback), as upstream's list.
var annotationsToSkip = map[string]bool{
	corev1.LastAppliedConfigAnnotation: true,
	RevisionAnnotation:                 true,
	RevisionHistoryAnnotation:          true,
	DesiredReplicasAnnotation:          true,
	MaxReplicasAnnotation:              true,
	appsv1.DeprecatedRollbackTo:        true,
}

// replicas dereferences a replica count; the API server defaults a missing one to 1.
func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func ptr(n int32) *int32 { return &n }

// templatesEqual compares pod templates ignoring the pod-template-hash label, as upstream's
// EqualIgnoreHash.
func templatesEqual(a, b *corev1.PodTemplateSpec) bool {
	la, lb := a.Labels, b.Labels
	na, nb := len(la), len(lb)
	if _, ok := la[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		na--
	}
	if _, ok := lb[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		nb--
	}
	if na != nb {
		return false
	}
	for k, v := range la {
		if k == appsv1.DefaultDeploymentUniqueLabelKey {
			continue
		}
		if w, ok := lb[k]; !ok || w != v {
			return false
		}
	}
	// Shallow copies without the labels: DeepEqual only reads them.
	ca, cb := *a, *b
	ca.Labels, cb.Labels = nil, nil
	return equality.Semantic.DeepEqual(&ca, &cb)
}

// templateHash is the pod-template-hash of a template and collision count: FNV-32a over the
// template's canonical JSON, in Kubernetes' safe alphabet.
func templateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(t) // a PodTemplateSpec always marshals
	h.Write(b)
	if collisions != nil {
		h.Write([]byte(strconv.Itoa(int(*collisions))))
	}
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// revision parses a ReplicaSet's revision annotation; a missing one is revision 0.
func revision(rs *appsv1.ReplicaSet) (int64, error) {
	v, ok := rs.Annotations[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// maxRevision is the highest revision among the ReplicaSets (unparsable ones skipped).
func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var max int64
	for _, rs := range rss {
		if v, err := revision(rs); err == nil && v > max {
			max = v
		}
	}
	return max
}

// lastRevision is the second highest revision: the one before the current.
func lastRevision(rss []*appsv1.ReplicaSet) int64 {
	var max, second int64
	for _, rs := range rss {
		v, err := revision(rs)
		switch {
		case err != nil:
		case v >= max:
			second, max = max, v
		case v > second:
			second = v
		}
	}
	return second
}

// byCreation sorts ReplicaSets oldest first, ties by name.
func byCreation(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool { return olderThan(rss[i], rss[j]) })
}

func olderThan(a, b *appsv1.ReplicaSet) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// byRevision sorts ReplicaSets by revision, ties (or unparsable revisions) by creation.
func byRevision(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, errA := revision(rss[i])
		b, errB := revision(rss[j])
		if errA != nil || errB != nil || a == b {
			return olderThan(rss[i], rss[j])
		}
		return a < b
	})
}

// bySize sorts ReplicaSets largest first; equal sizes newer first when newer, else older
// first (upstream's ReplicaSetsBySizeNewer and ReplicaSetsBySizeOlder).
func bySize(rss []*appsv1.ReplicaSet, newer bool) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, b := replicas(rss[i].Spec.Replicas), replicas(rss[j].Spec.Replicas)
		if a != b {
			return a > b
		}
		if newer {
			return olderThan(rss[j], rss[i])
		}
		return olderThan(rss[i], rss[j])
	})
}

// active keeps the ReplicaSets with replicas to run.
func active(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && replicas(rs.Spec.Replicas) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// specReplicas sums spec.replicas.
func specReplicas(rss ...*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += replicas(rs.Spec.Replicas)
		}
	}
	return n
}

// statusSum sums a status field over the ReplicaSets.
func statusSum(rss []*appsv1.ReplicaSet, f func(*appsv1.ReplicaSetStatus) int32) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += f(&rs.Status)
		}
	}
	return n
}

func statusReplicas(s *appsv1.ReplicaSetStatus) int32  { return s.Replicas }
func statusReady(s *appsv1.ReplicaSetStatus) int32     { return s.ReadyReplicas }
func statusAvailable(s *appsv1.ReplicaSetStatus) int32 { return s.AvailableReplicas }

// isRolling reports whether the Deployment uses the RollingUpdate strategy.
func isRolling(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

// surgeAndUnavailable resolves maxSurge (rounded up) and maxUnavailable (rounded down)
// against the replica count, as upstream's ResolveFenceposts: both zero would block a
// rollout, so maxUnavailable becomes 1. Unset values (the API server defaults them) count
// as 25%.
func surgeAndUnavailable(d *appsv1.Deployment) (int32, int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		ru = &appsv1.RollingUpdateDeployment{}
	}
	want := int(replicas(d.Spec.Replicas))
	def := intstr.FromString(defaultRollingPercent)
	s, u := ru.MaxSurge, ru.MaxUnavailable
	if s == nil {
		s = &def
	}
	if u == nil {
		u = &def
	}
	surge, err1 := intstr.GetScaledValueFromIntOrPercent(s, want, true)
	unavail, err2 := intstr.GetScaledValueFromIntOrPercent(u, want, false)
	if err1 != nil || err2 != nil { // validation rejects such values; be safe
		surge, unavail = 0, 1
	}
	if surge == 0 && unavail == 0 {
		unavail = 1
	}
	return int32(surge), int32(unavail)
}

// maxSurge is the Deployment's resolved maxSurge, 0 for Recreate.
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRolling(d) {
		return 0
	}
	s, _ := surgeAndUnavailable(d)
	return s
}

// maxUnavailable is the Deployment's resolved maxUnavailable, at most its replicas; 0 for
// Recreate or no replicas.
func maxUnavailable(d *appsv1.Deployment) int32 {
	want := replicas(d.Spec.Replicas)
	if !isRolling(d) || want == 0 {
		return 0
	}
	_, u := surgeAndUnavailable(d)
	return min(u, want)
}

// newRSReplicas is how far the new ReplicaSet may scale up now, as upstream's
// NewRSNewReplicas: for RollingUpdate up to the replica count while all ReplicaSets
// together stay within replicas + maxSurge; for Recreate the replica count.
func newRSReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	want := replicas(d.Spec.Replicas)
	if !isRolling(d) {
		return want
	}
	cur := replicas(newRS.Spec.Replicas)
	maxTotal := want + maxSurge(d)
	total := specReplicas(all...)
	if total >= maxTotal {
		return cur
	}
	return cur + min(maxTotal-total, want-cur)
}

// setReplicasAnnotations records the Deployment's desired and maximum replicas on a
// ReplicaSet, reporting whether anything changed.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, max int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	d, m := strconv.Itoa(int(desired)), strconv.Itoa(int(max))
	if rs.Annotations[DesiredReplicasAnnotation] == d && rs.Annotations[MaxReplicasAnnotation] == m {
		return false
	}
	rs.Annotations[DesiredReplicasAnnotation], rs.Annotations[MaxReplicasAnnotation] = d, m
	return true
}

// intAnnotation parses an integer annotation of a ReplicaSet.
func intAnnotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// setNewRSAnnotations copies the Deployment's annotations to its new ReplicaSet, raises
// the ReplicaSet's revision to newRevision when lower (keeping the old one in the
// revision-history annotation when the ReplicaSet is reused), and for a ReplicaSet about to
// be created adds the replica annotations; it reports whether anything changed.
func setNewRSAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision int64, exists bool) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for _, k := range sortedKeys(d.Annotations) {
		if v, ok := rs.Annotations[k]; annotationsToSkip[k] || (ok && v == d.Annotations[k]) {
			continue
		}
		rs.Annotations[k] = d.Annotations[k]
		changed = true
	}
	old, had := rs.Annotations[RevisionAnnotation]
	oldRev := int64(0)
	if had {
		v, err := strconv.ParseInt(old, 10, 64)
		if err != nil {
			return changed // upstream leaves an unparsable revision alone
		}
		oldRev = v
	}
	if oldRev < newRevision {
		rs.Annotations[RevisionAnnotation] = strconv.FormatInt(newRevision, 10)
		changed = true
		if had {
			appendRevisionHistory(rs, old)
		}
	}
	if !exists && setReplicasAnnotations(rs, replicas(d.Spec.Replicas), replicas(d.Spec.Replicas)+maxSurge(d)) {
		changed = true
	}
	return changed
}

// appendRevisionHistory appends a reused ReplicaSet's former revision to its
// revision-history annotation, dropping the oldest entries beyond MaxRevisionHistoryChars.
func appendRevisionHistory(rs *appsv1.ReplicaSet, old string) {
	hist := rs.Annotations[RevisionHistoryAnnotation]
	if hist == "" {
		rs.Annotations[RevisionHistoryAnnotation] = old
		return
	}
	revs := strings.Split(hist, ",")
	total := len(hist) + len(old) + 1
	start := 0
	for total > MaxRevisionHistoryChars && start < len(revs) {
		total -= len(revs[start]) + 1
		start++
	}
	if total <= MaxRevisionHistoryChars {
		rs.Annotations[RevisionHistoryAnnotation] = strings.Join(append(revs[start:], old), ",")
	}
}

// roundToInt32 rounds half away from zero, as k8s.io/utils/integer.RoundToInt32.
func roundToInt32(f float64) int32 { return int32(math.Round(f)) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
