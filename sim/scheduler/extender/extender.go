package extender

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// ScoreScale converts an extender's score, in [MinExtenderPriority, MaxExtenderPriority]
// (0–10), to the plugins' range (0–MaxNodeScore), as upstream's prioritizeNodes does.
const ScoreScale = framework.MaxNodeScore / extenderv1.MaxExtenderPriority

// Extender is one configured extender; it mirrors upstream's HTTPExtender.
type Extender struct {
	cfg       Config
	transport Transport
	managed   map[string]bool
}

// New returns an extender reached over HTTP at cfg.URLPrefix.
func New(cfg Config) (*Extender, error) {
	return NewWithTransport(cfg, NewHTTPTransport(cfg.URLPrefix, cfg.HTTPTimeout))
}

// NewWithTransport returns an extender whose calls go through t.
func NewWithTransport(cfg Config, t Transport) (*Extender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("extender %s: %w", cfg.URLPrefix, err)
	}
	if cfg.HTTPTimeout == 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	e := &Extender{cfg: cfg, transport: t}
	if len(cfg.ManagedResources) > 0 {
		e.managed = map[string]bool{}
		for _, r := range cfg.ManagedResources {
			e.managed[r] = true
		}
	}
	return e, nil
}

// Name is the extender's URL prefix, as upstream names it.
func (e *Extender) Name() string { return e.cfg.URLPrefix }

// Config returns the extender's configuration, defaulted.
func (e *Extender) Config() Config { return e.cfg }

// IsIgnorable reports whether a failing filter call is skipped rather than failing the pod.
func (e *Extender) IsIgnorable() bool { return e.cfg.Ignorable }

// IsBinder reports whether the extender binds pods.
func (e *Extender) IsBinder() bool { return e.cfg.BindVerb != "" }

// IsInterested reports whether the pod goes to this extender: always when it manages no
// resources, otherwise when a container or init container requests or limits one of them.
func (e *Extender) IsInterested(pod *corev1.Pod) bool {
	if len(e.managed) == 0 {
		return true
	}
	return e.hasManaged(pod.Spec.Containers) || e.hasManaged(pod.Spec.InitContainers)
}

func (e *Extender) hasManaged(cs []corev1.Container) bool {
	for i := range cs {
		for name := range cs[i].Resources.Requests {
			if e.managed[string(name)] {
				return true
			}
		}
		for name := range cs[i].Resources.Limits {
			if e.managed[string(name)] {
				return true
			}
		}
	}
	return false
}

// args builds the request for filter and prioritize: node names for a node-cache-capable
// extender, whole Node objects otherwise, in the order given.
func (e *Extender) args(pod *corev1.Pod, nodes []*corev1.Node) *extenderv1.ExtenderArgs {
	a := &extenderv1.ExtenderArgs{Pod: pod}
	if e.cfg.NodeCacheCapable {
		names := make([]string, 0, len(nodes))
		for _, n := range nodes {
			names = append(names, n.Name)
		}
		a.NodeNames = &names
	} else {
		list := &corev1.NodeList{Items: make([]corev1.Node, 0, len(nodes))}
		for _, n := range nodes {
			list.Items = append(list.Items, *n)
		}
		a.Nodes = list
	}
	return a
}

func (e *Extender) call(verb string, req, resp any) error {
	if err := e.transport.Do(verb, req, resp); err != nil {
		return fmt.Errorf("extender %s: %s: %w", e.Name(), verb, err)
	}
	return nil
}

// Filter asks the extender which of nodes the pod may go to, as upstream's
// HTTPExtender.Filter: feasible is a subset of nodes, in the extender's order; failed and
// failedAndUnresolvable map the rejected nodes to the extender's reasons (preemption cannot
// help the latter). Without a filter verb every node passes. The nodes the extender returns
// are matched by name to the ones given — an answer naming a node that was not asked about
// is an error — so the scheduler keeps its own Node objects (upstream, for an extender that
// is not node-cache-capable, takes the returned objects).
func (e *Extender) Filter(pod *corev1.Pod, nodes []*corev1.Node) (feasible []*corev1.Node, failed, failedAndUnresolvable extenderv1.FailedNodesMap, err error) {
	if e.cfg.FilterVerb == "" {
		return nodes, extenderv1.FailedNodesMap{}, extenderv1.FailedNodesMap{}, nil
	}
	var result extenderv1.ExtenderFilterResult
	if err := e.call(e.cfg.FilterVerb, e.args(pod, nodes), &result); err != nil {
		return nil, nil, nil, err
	}
	if result.Error != "" {
		return nil, nil, nil, fmt.Errorf("extender %s: %s: %s", e.Name(), e.cfg.FilterVerb, result.Error)
	}
	var names []string
	switch {
	case e.cfg.NodeCacheCapable && result.NodeNames != nil:
		names = *result.NodeNames
	case result.Nodes != nil:
		for i := range result.Nodes.Items {
			names = append(names, result.Nodes.Items[i].Name)
		}
	}
	byName := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	feasible = make([]*corev1.Node, 0, len(names))
	for _, name := range names {
		n, ok := byName[name]
		if !ok {
			// upstream's wording
			return nil, nil, nil, fmt.Errorf("extender %q claims a filtered node %q which is not found in the input node list", e.Name(), name)
		}
		feasible = append(feasible, n)
	}
	return feasible, result.FailedNodes, result.FailedAndUnresolvableNodes, nil
}

// Prioritize asks the extender to score nodes and returns each node's score in the
// plugins' range: the extender's score (0–10) × Weight × ScoreScale, summed if the extender
// names a node twice, as upstream's prioritizeNodes adds it to the plugins' total. Hosts
// that were not asked about are dropped. Without a prioritize verb every node scores 0.
func (e *Extender) Prioritize(pod *corev1.Pod, nodes []*corev1.Node) (map[string]int64, error) {
	scores := make(map[string]int64, len(nodes))
	for _, n := range nodes {
		scores[n.Name] = 0
	}
	if e.cfg.PrioritizeVerb == "" {
		return scores, nil
	}
	var result extenderv1.HostPriorityList
	if err := e.call(e.cfg.PrioritizeVerb, e.args(pod, nodes), &result); err != nil {
		return nil, err
	}
	for _, hp := range result {
		if _, ok := scores[hp.Host]; ok {
			scores[hp.Host] += hp.Score * e.cfg.Weight * ScoreScale
		}
	}
	return scores, nil
}

// Bind asks the extender to bind the pod; the extender makes the API call itself.
func (e *Extender) Bind(binding *corev1.Binding) error {
	if !e.IsBinder() {
		return errors.New("unexpected empty bindVerb in extender " + e.Name())
	}
	req := &extenderv1.ExtenderBindingArgs{
		PodName:      binding.Name,
		PodNamespace: binding.Namespace,
		PodUID:       binding.UID,
		Node:         binding.Target.Name,
	}
	var result extenderv1.ExtenderBindingResult
	if err := e.call(e.cfg.BindVerb, req, &result); err != nil {
		return err
	}
	if result.Error != "" {
		return fmt.Errorf("extender %s: %s: %s", e.Name(), e.cfg.BindVerb, result.Error)
	}
	return nil
}

// FindNodesThatPassExtenders runs the extenders' filters in order, as upstream's
// findNodesThatPassExtenders: each extender sees the nodes the previous ones kept; an
// extender not interested in the pod is skipped, and so is a failing one that is
// Ignorable, while a failing one that is not fails the cycle. Rejected nodes are recorded
// in statuses — UnschedulableAndUnresolvable for failedAndUnresolvable (which wins when a
// node is in both), Unschedulable for failed — with the extender's reason.
func FindNodesThatPassExtenders(extenders []*Extender, pod *corev1.Pod, nodes []*corev1.Node, statuses framework.NodeToStatus) ([]*corev1.Node, error) {
	for _, e := range extenders {
		if len(nodes) == 0 {
			break
		}
		if !e.IsInterested(pod) {
			continue
		}
		feasible, failed, unresolvable, err := e.Filter(pod, nodes)
		if err != nil {
			if e.IsIgnorable() {
				continue
			}
			return nil, err
		}
		for name, msg := range unresolvable {
			statuses[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, msg)
		}
		for name, msg := range failed {
			if _, ok := unresolvable[name]; ok {
				continue
			}
			statuses[name] = framework.NewStatus(framework.Unschedulable, msg)
		}
		nodes = feasible
	}
	return nodes, nil
}

// PrioritizeNodes sums the interested extenders' scaled scores per node, one extender after
// the other. As upstream, a failing prioritize call is not fatal, Ignorable or not: that
// extender gives no scores, and its error is returned in ignored (in extender order) for
// the caller to log.
func PrioritizeNodes(extenders []*Extender, pod *corev1.Pod, nodes []*corev1.Node) (scores map[string]int64, ignored []error) {
	scores = make(map[string]int64, len(nodes))
	for _, n := range nodes {
		scores[n.Name] = 0
	}
	for _, e := range extenders {
		if !e.IsInterested(pod) {
			continue
		}
		s, err := e.Prioritize(pod, nodes)
		if err != nil {
			ignored = append(ignored, err)
			continue
		}
		for name, v := range s {
			scores[name] += v
		}
	}
	return scores, ignored
}

// Binder returns the extender that binds the pod — the first that binds and is interested
// in it, as upstream's extendersBinding — or nil if the Bind plugins should.
func Binder(extenders []*Extender, pod *corev1.Pod) *Extender {
	for _, e := range extenders {
		if e.IsBinder() && e.IsInterested(pod) {
			return e
		}
	}
	return nil
}
