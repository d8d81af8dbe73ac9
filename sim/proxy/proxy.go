package proxy

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Proxy is one node's kube-proxy.
type Proxy struct {
	clock  loop.Clock
	client *apiserver.Client
	node   string
	opts   Options
	delay  time.Duration

	services, slices *informer.Informer
	// What the proxy has learned (each change Delay after its watch event): Services by
	// namespace/name, and slices by their Service's namespace/name and then slice name.
	svcView   map[string]*corev1.Service
	sliceView map[string]map[string]*discoveryv1.EndpointSlice
	dirty     map[string]bool

	runner *runner
	table  map[string]*serviceTable // programmed rules, by namespace/name
	before func()
	up     bool
	gen    uint64

	syncs        int
	programmedAt time.Time
}

// New returns the proxy of node, reading as client (system:kube-proxy); Start runs it.
func New(clock loop.Clock, client *apiserver.Client, node string, opts Options) *Proxy {
	p := &Proxy{clock: clock, client: client, node: node, opts: opts, delay: opts.Delay, table: map[string]*serviceTable{}}
	if opts.DelayJitter > 0 {
		p.delay += time.Duration(clock.Rand("proxy/" + node).Int64N(int64(opts.DelayJitter)))
	}
	p.runner = newRunner(clock, opts.minSyncPeriod(), p.sync)
	return p
}

// Node returns the proxy's node.
func (p *Proxy) Node() string { return p.node }

// Delay returns how long after a watch event this proxy learns of it.
func (p *Proxy) Delay() time.Duration { return p.delay }

// Up reports whether the proxy is running.
func (p *Proxy) Up() bool { return p.up }

// Syncs returns how many times the proxy has programmed its rules.
func (p *Proxy) Syncs() int { return p.syncs }

// ProgrammedAt returns when the proxy last changed its rules.
func (p *Proxy) ProgrammedAt() time.Time { return p.programmedAt }

// SetBeforeChange registers fn to run just before the programmed rules change (so that
// requests that arrived earlier are routed by the old ones).
func (p *Proxy) SetBeforeChange(fn func()) { p.before = fn }

// Start lists and watches Services and EndpointSlices and syncs the rules.
func (p *Proxy) Start() error {
	if p.up {
		return nil
	}
	if p.before != nil {
		p.before()
	}
	p.up = true
	p.gen++
	p.svcView = map[string]*corev1.Service{}
	p.sliceView = map[string]map[string]*discoveryv1.EndpointSlice{}
	p.dirty = map[string]bool{}
	p.services = informer.New(p.client, "services", "", apiserver.Filter{})
	p.slices = informer.New(p.client, "endpointslices", "", apiserver.Filter{})
	// The lists' objects are learnt together and synced once, as kube-proxy waits for
	// its caches to sync before the first sync; later events each ask for a sync.
	var initial []runtime.Object
	starting := true
	learn := func(obj runtime.Object, deleted bool) {
		if starting {
			initial = append(initial, obj)
			return
		}
		p.after(func() {
			p.learn(obj, deleted)
			p.runner.Run()
		})
	}
	for _, inf := range []*informer.Informer{p.services, p.slices} {
		inf.AddHandler(informer.Handler{
			OnAdd:    func(obj runtime.Object) { learn(obj, false) },
			OnUpdate: func(_, obj runtime.Object) { learn(obj, false) },
			OnDelete: func(obj runtime.Object) { learn(obj, true) },
		})
		if err := inf.Start(); err != nil {
			p.Stop()
			return fmt.Errorf("kube-proxy %s: %w", p.node, err)
		}
	}
	starting = false
	p.after(func() {
		for _, obj := range initial {
			p.learn(obj, false)
		}
		p.runner.Run()
	})
	return nil
}

// Stop ends the proxy and its rules, as a node crash does.
func (p *Proxy) Stop() {
	if !p.up {
		return
	}
	if p.before != nil {
		p.before()
	}
	p.up = false
	p.gen++
	for _, inf := range []*informer.Informer{p.services, p.slices} {
		if inf != nil {
			inf.Stop()
		}
	}
	p.runner.Reset()
	p.table = map[string]*serviceTable{}
	p.programmedAt = p.clock.Now()
}

// after runs fn once the proxy's delay has passed, in this life of the proxy only.
func (p *Proxy) after(fn func()) {
	if p.delay <= 0 {
		fn()
		return
	}
	gen := p.gen
	p.clock.After(p.delay, func() {
		if gen == p.gen {
			fn()
		}
	})
}

// learn records one change in the proxy's view.
func (p *Proxy) learn(obj runtime.Object, deleted bool) {
	switch o := obj.(type) {
	case *corev1.Service:
		key := o.Namespace + "/" + o.Name
		if deleted {
			delete(p.svcView, key)
		} else {
			p.svcView[key] = o
		}
		p.dirty[key] = true
	case *discoveryv1.EndpointSlice:
		name := o.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			return
		}
		key := o.Namespace + "/" + name
		set := p.sliceView[key]
		if deleted {
			delete(set, o.Name)
			if len(set) == 0 {
				delete(p.sliceView, key)
			}
		} else {
			if set == nil {
				set = map[string]*discoveryv1.EndpointSlice{}
				p.sliceView[key] = set
			}
			set[o.Name] = o
		}
		p.dirty[key] = true
	}
}

// sync is syncProxyRules: it computes the rules of every Service changed since the last
// sync from what the proxy knows now, and programs them SyncDuration later.
func (p *Proxy) sync(done func()) {
	keys := make([]string, 0, len(p.dirty))
	for k := range p.dirty {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.dirty = map[string]bool{}
	next := make(map[string]*serviceTable, len(keys))
	for _, k := range keys {
		svc, ok := p.svcView[k]
		if !ok || !proxied(svc) {
			next[k] = nil
			continue
		}
		set := p.sliceView[k]
		names := make([]string, 0, len(set))
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names)
		slices := make([]*discoveryv1.EndpointSlice, len(names))
		for i, n := range names {
			slices[i] = set[n]
		}
		next[k] = buildService(svc, slices, p.node)
	}
	program := func() {
		p.change(func() {
			for _, k := range keys {
				if t := next[k]; t != nil {
					p.table[k] = t
				} else {
					delete(p.table, k)
				}
			}
		})
		p.syncs++
		done()
	}
	if p.opts.SyncDuration <= 0 {
		program()
		return
	}
	gen := p.gen
	p.clock.After(p.opts.SyncDuration, func() {
		if gen == p.gen {
			program()
		}
	})
}

// change applies fn to the programmed rules, letting the traffic catch up first.
func (p *Proxy) change(fn func()) {
	if p.before != nil {
		p.before()
	}
	fn()
	p.programmedAt = p.clock.Now()
}

// Lookup returns the programmed rules of a Service port (namespace/name, and port name
// or number, "" for the first): its Service and its usable endpoints for Cluster and
// Local traffic policy on this node.
func (p *Proxy) Lookup(service, port string) (svc *corev1.Service, cluster, local []Endpoint, ok bool) {
	t := p.table[service]
	if t == nil {
		return nil, nil, nil, false
	}
	pt := t.port(port)
	if pt == nil {
		return t.svc, nil, nil, false
	}
	return t.svc, pt.cluster, pt.local, true
}

// HasLocalEndpoints is the Service's health check node port answer on this node: whether
// the node has a usable endpoint of its own.
func (p *Proxy) HasLocalEndpoints(service, port string) bool {
	_, _, local, ok := p.Lookup(service, port)
	return ok && len(local) > 0
}

// Route picks the endpoint a new connection to the Service port gets at this node, as the
// programmed rules do: internal (ClusterIP) traffic follows internalTrafficPolicy,
// external traffic (arriving at a node port or through a load balancer) follows
// externalTrafficPolicy; among the usable endpoints the pick is uniform, from r.
func (p *Proxy) Route(service, port string, via Via, r *rand.Rand) (Endpoint, Cause) {
	svc, cluster, local, ok := p.Lookup(service, port)
	if !ok {
		return Endpoint{}, CauseNoService
	}
	external := via != ViaClusterIP
	switch via {
	case ViaNodePort:
		if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			return Endpoint{}, CauseNoService
		}
	case ViaLoadBalancer:
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			return Endpoint{}, CauseNoService
		}
	}
	eps := cluster
	if external && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal ||
		!external && svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal {
		eps = local
	}
	if len(eps) == 0 {
		return Endpoint{}, CauseNoEndpoints
	}
	return eps[r.IntN(len(eps))], ""
}
