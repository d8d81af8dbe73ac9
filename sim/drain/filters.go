package drain

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubectl drain's messages for the pods it will not or need not evict.
const (
	daemonSetFatal      = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
	daemonSetWarning    = "ignoring DaemonSet-managed Pods"
	localStorageFatal   = "Pods with local storage (use --delete-emptydir-data to override)"
	localStorageWarning = "deleting Pods with local storage"
	unmanagedFatal      = "cannot delete Pods that declare no controller (use --force to override)"
	unmanagedWarning    = "deleting Pods that declare no controller"
)

// verdict is what the filters decide about one pod.
type verdict struct {
	evict   bool
	warning string // shown, the pod evicted or skipped as evict says
	fatal   string // the pod blocks the drain
}

// podVerdict runs kubectl's filters in order (deleted, DaemonSet, mirror, local storage,
// unreplicated); the first that keeps the pod decides.
func (d *Drain) podVerdict(p *corev1.Pod) verdict {
	v := verdict{evict: true}
	for _, f := range []func(*corev1.Pod) verdict{d.skipDeleted, d.daemonSetFilter, mirrorFilter, d.localStorageFilter, d.unreplicatedFilter} {
		v = f(p)
		if !v.evict {
			break
		}
	}
	return v
}

func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// skipDeleted skips pods deleted longer ago than SkipWaitForDeleteTimeout, if set.
func (d *Drain) skipDeleted(p *corev1.Pod) verdict {
	if d.shouldSkip(p) {
		return verdict{}
	}
	return verdict{evict: true}
}

func (d *Drain) shouldSkip(p *corev1.Pod) bool {
	t := d.opts.SkipWaitForDeleteTimeout
	return t > 0 && p.DeletionTimestamp != nil && d.clock.Now().Sub(p.DeletionTimestamp.Time).Truncate(time.Second) > t
}

func (d *Drain) daemonSetFilter(p *corev1.Pod) verdict {
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Kind != "DaemonSet" || finished(p) {
		return verdict{evict: true}
	}
	if _, err := d.client.Get("daemonsets", p.Namespace, ref.Name); err != nil {
		// An orphan of a deleted DaemonSet goes with --force.
		if apierrors.IsNotFound(err) && d.opts.Force {
			return verdict{evict: true, warning: err.Error()}
		}
		return verdict{fatal: err.Error()}
	}
	if !d.opts.IgnoreDaemonSets {
		return verdict{fatal: daemonSetFatal}
	}
	return verdict{warning: daemonSetWarning}
}

func mirrorFilter(p *corev1.Pod) verdict {
	if _, ok := p.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return verdict{}
	}
	return verdict{evict: true}
}

func (d *Drain) localStorageFilter(p *corev1.Pod) verdict {
	emptyDir := false
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir != nil {
			emptyDir = true
		}
	}
	if !emptyDir || finished(p) {
		return verdict{evict: true}
	}
	if !d.opts.DeleteEmptyDirData {
		return verdict{fatal: localStorageFatal}
	}
	return verdict{evict: true, warning: localStorageWarning}
}

func (d *Drain) unreplicatedFilter(p *corev1.Pod) verdict {
	if finished(p) || metav1.GetControllerOf(p) != nil {
		return verdict{evict: true}
	}
	if d.opts.Force {
		return verdict{evict: true, warning: unmanagedWarning}
	}
	return verdict{fatal: unmanagedFatal}
}

// grouped joins pods by message as kubectl reports them ("msg: ns/a, ns/b"), messages in
// order; prefix is put before messages that do not already start with "cannot delete".
func grouped(byMsg map[string][]string, prefix string) []string {
	msgs := make([]string, 0, len(byMsg))
	for m := range byMsg {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		text := m
		if prefix != "" && !strings.HasPrefix(strings.ToLower(m), prefix) {
			text = prefix + " " + m
		}
		out = append(out, fmt.Sprintf("%s: %s", text, strings.Join(byMsg[m], ", ")))
	}
	return out
}
