// Package interpodaffinity is the InterPodAffinity plugin: a pod's required pod affinity
// and anti-affinity, and existing pods' required anti-affinity, filter nodes by topology
// domain; preferred terms (the pod's and existing pods'), and existing pods' required
// affinity weighted by hardPodAffinityWeight, score them.
package interpodaffinity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "InterPodAffinity"

// DefaultHardPodAffinityWeight is upstream's default hardPodAffinityWeight.
const DefaultHardPodAffinityWeight int32 = 1

// InterPodAffinity is the plugin.
type InterPodAffinity struct {
	args Args
	h    framework.Handle
	// terms caches existing pods' parsed terms between cycles (see termCache).
	terms termCache
	// noTerms are the terms of every pod without pod affinity or anti-affinity (none),
	// shared: never changed.
	noTerms podTerms
}

var (
	_ framework.PreFilterPlugin = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin    = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin  = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin     = (*InterPodAffinity)(nil)
	_ framework.ScoreExtensions = (*InterPodAffinity)(nil)
)

// New builds the plugin from *configv1.InterPodAffinityArgs (or nil for the defaults).
func New(args runtime.Object, h framework.Handle) (framework.Plugin, error) {
	a, err := decodeArgs(args)
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%s: a framework handle is required", Name)
	}
	return &InterPodAffinity{args: a, h: h, terms: newTermCache()}, nil
}

// Name returns the plugin's name.
func (*InterPodAffinity) Name() string { return Name }

// namespaceLabels returns a namespace's labels as the scheduler's namespace lister would
// see them: the API server always labels a namespace with kubernetes.io/metadata.name, so
// the label is added when the handle does not report it.
func namespaceLabels(h framework.Handle, ns string) labels.Set {
	l := h.NamespaceLabels(ns)
	if _, ok := l[corev1.LabelMetadataName]; ok {
		return labels.Set(l)
	}
	out := make(labels.Set, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	out[corev1.LabelMetadataName] = ns
	return out
}

// nsLabelCache memoises namespace labels for one cycle.
type nsLabelCache struct {
	h framework.Handle
	m map[string]labels.Set
}

func (c *nsLabelCache) get(ns string) labels.Set {
	if l, ok := c.m[ns]; ok {
		return l
	}
	if c.m == nil {
		c.m = map[string]labels.Set{}
	}
	l := namespaceLabels(c.h, ns)
	c.m[ns] = l
	return l
}

// termCacheEpoch is how many cycles a cache generation lasts.
const termCacheEpoch = 64

// termCache keeps existing pods' parsed terms across cycles, keyed by the pod object (pod
// objects are replaced, never mutated, when a pod changes). It holds two generations of
// termCacheEpoch cycles: entries unused for a whole generation are dropped, so it never
// outgrows the pods the scheduler sees.
type termCache struct {
	cur, prev map[*corev1.Pod]*podTerms
	cycles    int
}

func newTermCache() termCache {
	return termCache{cur: map[*corev1.Pod]*podTerms{}, prev: map[*corev1.Pod]*podTerms{}}
}

// rotate counts a cycle and starts a new generation every termCacheEpoch cycles.
func (c *termCache) rotate() {
	c.cycles++
	if c.cycles%termCacheEpoch == 0 {
		c.prev, c.cur = c.cur, make(map[*corev1.Pod]*podTerms, len(c.cur))
	}
}

// incomingTerms parses the terms of the pod being scheduled; a pod without pod affinity
// or anti-affinity (most pods) gets the shared empty terms, at no cost.
func (pl *InterPodAffinity) incomingTerms(pod *corev1.Pod) (*podTerms, error) {
	if !framework.HasAffinity(pod) {
		return &pl.noTerms, nil
	}
	return parsePodTerms(pod)
}

// get returns pod's parsed terms; a pod whose terms do not parse has none (upstream
// rejects such pods at creation).
func (c *termCache) get(pod *corev1.Pod) *podTerms {
	if t, ok := c.cur[pod]; ok {
		return t
	}
	t, ok := c.prev[pod]
	if !ok {
		var err error
		if t, err = parsePodTerms(pod); err != nil {
			t = &podTerms{}
		}
	}
	c.cur[pod] = t
	return t
}
