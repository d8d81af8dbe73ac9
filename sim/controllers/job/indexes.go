package job

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	// completionIndexEnv is the variable Indexed Jobs' containers get their index in.
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	// unknownIndex marks a pod without a valid completion index.
	unknownIndex = -1
	// maxGeneratedNameLength is the longest generateName prefix the API server keeps
	// (a name is at most 63 characters, 5 of them the random suffix).
	maxGeneratedNameLength = 63 - 5
)

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion && j.Spec.Completions != nil
}

func hasBackoffLimitPerIndex(j *batchv1.Job) bool {
	return isIndexed(j) && j.Spec.BackoffLimitPerIndex != nil
}

// interval is a closed range of completion indexes.
type interval struct{ first, last int }

// intervals is an ordered list of disjoint, non-adjacent intervals: the compressed form
// of status.completedIndexes and status.failedIndexes.
type intervals []interval

// parseIntervals reads "1,3-5,7", ignoring corrupt parts and indexes >= completions.
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for _, part := range strings.Split(s, ",") {
		limits := strings.Split(part, "-")
		first, err := strconv.Atoi(limits[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(limits) > 1 {
			if last, err = strconv.Atoi(limits[1]); err != nil {
				continue
			}
			last = min(last, completions-1)
		}
		if n := len(out); n > 0 && out[n-1].last == first-1 {
			out[n-1].last = last
		} else {
			out = append(out, interval{first, last})
		}
	}
	return out
}

// String writes the intervals as upstream does: "a-b" for three or more indexes in a
// row, "a,b" for two.
func (iv intervals) String() string {
	var b strings.Builder
	for _, v := range iv {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v.first))
		if v.last > v.first {
			if v.last == v.first+1 {
				b.WriteByte(',')
			} else {
				b.WriteByte('-')
			}
			b.WriteString(strconv.Itoa(v.last))
		}
	}
	return b.String()
}

func (iv intervals) total() int {
	n := 0
	for _, v := range iv {
		n += v.last - v.first + 1
	}
	return n
}

func (iv intervals) has(ix int) bool {
	i := sort.Search(len(iv), func(i int) bool { return iv[i].last >= ix })
	return i < len(iv) && iv[i].first <= ix
}

// withIndexes returns the intervals with the sorted indexes added.
func (iv intervals) withIndexes(ixs []int) intervals {
	add := make(intervals, len(ixs))
	for i, x := range ixs {
		add[i] = interval{x, x}
	}
	return iv.merge(add)
}

// merge returns the union of two interval lists.
func (iv intervals) merge(other intervals) intervals {
	var out intervals
	push := func(v interval) {
		if n := len(out); n == 0 || v.first > out[n-1].last+1 {
			out = append(out, v)
		} else if out[n-1].last < v.last {
			out[n-1].last = v.last
		}
	}
	i, j := 0, 0
	for i < len(iv) && j < len(other) {
		if iv[i].first < other[j].first {
			push(iv[i])
			i++
		} else {
			push(other[j])
			j++
		}
	}
	for ; i < len(iv); i++ {
		push(iv[i])
	}
	for ; j < len(other); j++ {
		push(other[j])
	}
	return out
}

// completionIndex reads a pod's batch.kubernetes.io/job-completion-index annotation.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return unknownIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return unknownIndex
	}
	return i
}

// validIndex returns the pod's index if it is within completions, else unknownIndex.
func validIndex(p *corev1.Pod, j *batchv1.Job) int {
	if ix := completionIndex(p); ix != unknownIndex && ix < int(*j.Spec.Completions) {
		return ix
	}
	return unknownIndex
}

// indexSet returns the sorted distinct indexes of pods.
func indexSet(pods []*corev1.Pod) []int {
	seen := map[int]bool{}
	var out []int
	for _, p := range pods {
		if ix := completionIndex(p); ix != unknownIndex && !seen[ix] {
			seen[ix] = true
			out = append(out, ix)
		}
	}
	sort.Ints(out)
	return out
}

// sortByIndex orders pods by completion index (unknown first), stably.
func sortByIndex(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return completionIndex(pods[i]) < completionIndex(pods[j]) })
}

// succeededIndexes returns the indexes counted in status.completedIndexes and those plus
// the indexes of succeeded pods not yet counted (still carrying the finalizer).
func succeededIndexes(j *batchv1.Job, pods []*corev1.Pod) (prev, all intervals) {
	prev = parseIntervals(j.Status.CompletedIndexes, int(*j.Spec.Completions))
	var ixs []int
	for _, p := range pods {
		if ix := validIndex(p, j); p.Status.Phase == corev1.PodSucceeded && ix != unknownIndex && hasTrackingFinalizer(p) {
			ixs = append(ixs, ix)
		}
	}
	return prev, prev.withIndexes(uniqueSorted(ixs))
}

// failedIndexes returns status.failedIndexes plus the indexes whose uncounted failed pod
// exhausted backoffLimitPerIndex.
func failedIndexes(j *batchv1.Job, pods []*corev1.Pod) *intervals {
	var prev intervals
	if j.Status.FailedIndexes != nil {
		prev = parseIntervals(*j.Status.FailedIndexes, int(*j.Spec.Completions))
	}
	var ixs []int
	for _, p := range pods {
		if ix := validIndex(p, j); ix != unknownIndex && hasTrackingFinalizer(p) && isIndexFailed(j, p) {
			ixs = append(ixs, ix)
		}
	}
	out := prev.withIndexes(uniqueSorted(ixs))
	return &out
}

func isIndexFailed(j *batchv1.Job, p *corev1.Pod) bool {
	return isPodFailed(p, j) && indexFailureCount(p) >= *j.Spec.BackoffLimitPerIndex
}

func uniqueSorted(xs []int) []int {
	sort.Ints(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// firstPendingIndexes returns up to count indexes below completions that are neither
// active, succeeded nor failed (nor terminating when only failed pods are replaced).
func firstPendingIndexes(ctx *syncCtx, count, completions int) []int {
	if count == 0 {
		return nil
	}
	busy := ctx.succeededIdx.withIndexes(indexSet(ctx.active))
	if onlyReplaceFailedPods(ctx.job) {
		var terminating []*corev1.Pod
		for _, p := range ctx.pods {
			if isTerminating(p) {
				terminating = append(terminating, p)
			}
		}
		busy = busy.withIndexes(indexSet(terminating))
	}
	if ctx.failedIdx != nil {
		busy = busy.merge(*ctx.failedIdx)
	}
	out := make([]int, 0, count)
	candidate := 0
	for _, v := range busy {
		for ; candidate < completions && len(out) < count && candidate < v.first; candidate++ {
			out = append(out, candidate)
		}
		candidate = max(candidate, v.last+1)
	}
	for ; candidate < completions && len(out) < count; candidate++ {
		out = append(out, candidate)
	}
	return out
}

// duplicatedIndexPodsForRemoval splits active pods of an Indexed Job into those to remove
// (no index, index out of range, all but the best-kept of a repeated index) and the rest.
func duplicatedIndexPodsForRemoval(pods []*corev1.Pod, completions int) (rm, left []*corev1.Pod) {
	sorted := append([]*corev1.Pod(nil), pods...)
	sortByIndex(sorted)
	flush := func(group []*corev1.Pod, ix int) {
		switch {
		case len(group) == 0:
		case ix == unknownIndex:
			rm = append(rm, group...)
		case len(group) == 1:
			left = append(left, group[0])
		default:
			rankForRemoval(group)
			rm = append(rm, group[:len(group)-1]...)
			left = append(left, group[len(group)-1])
		}
	}
	start, last := 0, unknownIndex
	end := len(sorted)
	for i, p := range sorted {
		ix := completionIndex(p)
		if ix >= completions {
			rm = append(rm, sorted[i:]...)
			end = i
			break
		}
		if ix != last {
			flush(sorted[start:i], last)
			start, last = i, ix
		}
	}
	flush(sorted[start:end], last)
	return rm, left
}

// addCompletionIndexEnv gives every container JOB_COMPLETION_INDEX from the index label.
func addCompletionIndexEnv(t *corev1.PodTemplateSpec) {
	add := func(cs []corev1.Container) {
		for i := range cs {
			found := false
			for _, e := range cs[i].Env {
				found = found || e.Name == completionIndexEnv
			}
			if !found {
				cs[i].Env = append(cs[i].Env, corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation)},
				}})
			}
		}
	}
	add(t.Spec.InitContainers)
	add(t.Spec.Containers)
}

// setCompletionIndex sets the index annotation and label (PodIndexLabel is GA).
func setCompletionIndex(t *corev1.PodTemplateSpec, ix int) {
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
	t.Labels[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
}

// podGenerateNameWithIndex is "<job>-<index>-", the job name cut to fit.
func podGenerateNameWithIndex(job string, ix int) string {
	suffix := "-" + strconv.Itoa(ix) + "-"
	prefix := job + suffix
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return prefix
}

// annotationCount reads a non-negative int32 annotation, 0 if absent or invalid.
func annotationCount(p *corev1.Pod, key string) int32 {
	v, ok := p.Annotations[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}

func indexFailureCount(p *corev1.Pod) int32 {
	return annotationCount(p, batchv1.JobIndexFailureCountAnnotation)
}

func indexAbsoluteFailureCount(p *corev1.Pod) int32 {
	return indexFailureCount(p) + annotationCount(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

// newIndexFailureCount is the failure count a replacement of the failed pod carries.
func newIndexFailureCount(replaced *corev1.Pod) int32 {
	if replaced == nil {
		return 0
	}
	return indexFailureCount(replaced) + 1
}
