package proxy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/loop"
)

// Via is how requests reach a Service.
type Via string

// The ways in.
const (
	// ViaClusterIP: in-cluster clients on the nodes connect to the Service's cluster IP;
	// each request leaves from a node that is up, routed by that node's proxy with
	// internalTrafficPolicy.
	ViaClusterIP Via = "ClusterIP"
	// ViaNodePort: external clients connect to the node port of the nodes that are up,
	// spread over them without health checks; externalTrafficPolicy applies.
	ViaNodePort Via = "NodePort"
	// ViaLoadBalancer: an external load balancer spreads requests over the nodes that pass
	// its health check — up and not partitioned, and for externalTrafficPolicy Local with
	// a local endpoint by the node's proxy (the health check node port); when none passes
	// it sends to every node that is up, as cloud load balancers fail open.
	ViaLoadBalancer Via = "LoadBalancer"
)

// Arrivals is how a stream's requests are spaced.
type Arrivals string

// The arrival processes.
const (
	// ArrivalsUniform spaces requests evenly: the k-th (from 0) at start + k/rate.
	ArrivalsUniform Arrivals = "uniform"
	// ArrivalsPoisson draws exponential gaps of mean 1/rate from the stream's seeded
	// random stream.
	ArrivalsPoisson Arrivals = "poisson"
)

// Clients is how a stream's requests pick their node.
type Clients string

// The client spreads.
const (
	// ClientsRoundRobin takes the eligible nodes in name order, one request each.
	ClientsRoundRobin Clients = "roundRobin"
	// ClientsRandom picks an eligible node uniformly from the stream's seeded stream.
	ClientsRandom Clients = "random"
)

// Defaults of a stream and of the traffic engine.
const (
	// DefaultLatencyBase and DefaultLatencyMean make a served request's latency
	// base + Exp(mean): 2 ms + 3 ms on average.
	DefaultLatencyBase = 2 * time.Millisecond
	DefaultLatencyMean = 3 * time.Millisecond
	// DefaultTick is how often queued requests are processed.
	DefaultTick = 100 * time.Millisecond
	// DefaultSampleInterval is the width of the availability time series' samples.
	DefaultSampleInterval = 10 * time.Second
)

// Stream is a synthetic request stream to one Service port.
type Stream struct {
	// Service is namespace/name.
	Service string
	// Port is the Service port's name or number; "" is its first port.
	Port string
	// Via is how requests come in (default ViaClusterIP).
	Via Via
	// Rate is requests per second (> 0).
	Rate float64
	// Start and Stop bound the stream, from the start of the run; Stop 0 never stops.
	Start, Stop time.Duration
	// Arrivals spaces the requests (default ArrivalsUniform).
	Arrivals Arrivals
	// Clients spreads them over nodes (default ClientsRoundRobin).
	Clients Clients
	// LatencyBase and LatencyMean are the endpoint's service time: LatencyBase plus an
	// exponential draw of mean LatencyMean (defaults DefaultLatencyBase and
	// DefaultLatencyMean; a negative value means 0).
	LatencyBase, LatencyMean time.Duration
}

// Name is the stream's Service, with its port if one was named.
func (s Stream) Name() string {
	if s.Port == "" {
		return s.Service
	}
	return s.Service + ":" + s.Port
}

// withDefaults validates the stream and fills its defaults.
func (s Stream) withDefaults() (Stream, error) {
	if ns, name, ok := strings.Cut(s.Service, "/"); !ok || ns == "" || name == "" {
		return s, fmt.Errorf("service %q: want namespace/name", s.Service)
	}
	if !(s.Rate > 0) {
		return s, fmt.Errorf("rate %v: must be greater than 0", s.Rate)
	}
	if s.Start < 0 || s.Stop < 0 {
		return s, fmt.Errorf("start and stop must not be negative")
	}
	switch s.Via {
	case "":
		s.Via = ViaClusterIP
	case ViaClusterIP, ViaNodePort, ViaLoadBalancer:
	default:
		return s, fmt.Errorf("via %q: supported values: %q, %q, %q", s.Via, ViaClusterIP, ViaNodePort, ViaLoadBalancer)
	}
	switch s.Arrivals {
	case "":
		s.Arrivals = ArrivalsUniform
	case ArrivalsUniform, ArrivalsPoisson:
	default:
		return s, fmt.Errorf("arrivals %q: supported values: %q, %q", s.Arrivals, ArrivalsUniform, ArrivalsPoisson)
	}
	switch s.Clients {
	case "":
		s.Clients = ClientsRoundRobin
	case ClientsRoundRobin, ClientsRandom:
	default:
		return s, fmt.Errorf("clients %q: supported values: %q, %q", s.Clients, ClientsRoundRobin, ClientsRandom)
	}
	if s.LatencyBase == 0 {
		s.LatencyBase = DefaultLatencyBase
	}
	if s.LatencyMean == 0 {
		s.LatencyMean = DefaultLatencyMean
	}
	s.LatencyBase, s.LatencyMean = max(s.LatencyBase, 0), max(s.LatencyMean, 0)
	return s, nil
}

// Config is the traffic of a run.
type Config struct {
	// Streams are the request streams.
	Streams []Stream
	// Tick is how often queued requests are processed (default DefaultTick); it changes
	// when work happens, never the outcome.
	Tick time.Duration
	// SampleInterval is the width of the availability samples (default
	// DefaultSampleInterval).
	SampleInterval time.Duration
}

// Traffic sends the request streams through the proxies and counts what happens.
type Traffic struct {
	clock   loop.Clock
	reality *Reality
	proxy   func(node string) *Proxy
	streams []*stream
	tick    time.Duration
	ticker  *loop.Timer
	// flushed is how far requests have been processed (exclusive).
	flushed time.Time
	busy    bool
	// stale marks the cached eligible nodes as out of date: something is about to change.
	stale bool
}

type stream struct {
	Stream
	stats *Stats
	next  time.Time
	k     int64
	done  bool

	arrivals, clients, picks, latency *rand.Rand
	rr                                int
	eligible                          []string
}

// NewTraffic returns the traffic engine of cfg over the proxies (by node name) and
// reality; it registers itself to be told before either changes. Start runs it.
func NewTraffic(clock loop.Clock, reality *Reality, proxy func(node string) *Proxy, cfg Config) (*Traffic, error) {
	t := &Traffic{clock: clock, reality: reality, proxy: proxy, tick: cfg.Tick, flushed: clock.Now(), stale: true}
	if t.tick <= 0 {
		t.tick = DefaultTick
	}
	interval := cfg.SampleInterval
	if interval <= 0 {
		interval = DefaultSampleInterval
	}
	for i, s := range cfg.Streams {
		s, err := s.withDefaults()
		if err != nil {
			return nil, fmt.Errorf("traffic stream %d: %w", i, err)
		}
		name := fmt.Sprintf("traffic/%d/", i)
		st := &stream{Stream: s, stats: &Stats{Stream: s, SampleInterval: interval},
			arrivals: clock.Rand(name + "arrivals"), clients: clock.Rand(name + "clients"),
			picks: clock.Rand(name + "endpoints"), latency: clock.Rand(name + "latency")}
		st.k = -1
		st.advance()
		t.streams = append(t.streams, st)
	}
	reality.SetBeforeChange(t.BeforeChange)
	return t, nil
}

// BeforeChange processes the requests that arrived before now; call it just before
// anything they could see changes (a proxy's rules, a node, a container).
func (t *Traffic) BeforeChange() {
	t.Flush()
	t.stale = true
}

// Start processes requests every tick from now on.
func (t *Traffic) Start() {
	if t.ticker != nil || len(t.streams) == 0 {
		return
	}
	var tick func()
	tick = func() {
		t.Flush()
		// What the traffic cannot be told of before it happens (a cut-off read from the
		// API server) is picked up here.
		t.stale = true
		t.ticker = nil
		for _, s := range t.streams {
			if !s.done {
				t.ticker = t.clock.After(t.tick, tick)
				return
			}
		}
	}
	t.ticker = t.clock.After(t.tick, tick)
}

// Stats flushes the requests that arrived before now and returns every stream's stats,
// in stream order.
func (t *Traffic) Stats() []*Stats {
	t.Flush()
	out := make([]*Stats, len(t.streams))
	for i, s := range t.streams {
		out[i] = s.stats
	}
	return out
}

// Flush processes every request that arrived before now.
func (t *Traffic) Flush() {
	now := t.clock.Now()
	if t.busy || !now.After(t.flushed) {
		return
	}
	t.busy = true
	for _, s := range t.streams {
		for !s.done && s.next.Before(now) {
			t.serve(s, s.next)
			s.advance()
		}
	}
	t.flushed = now
	t.busy = false
}

// advance moves to the stream's next arrival.
func (s *stream) advance() {
	s.k++
	start := loop.Epoch.Add(s.Start)
	switch s.Arrivals {
	case ArrivalsPoisson:
		from := start
		if s.k > 0 {
			from = s.next
		}
		s.next = from.Add(time.Duration(s.arrivals.ExpFloat64() / s.Rate * float64(time.Second)))
	default:
		s.next = start.Add(time.Duration(float64(s.k) * float64(time.Second) / s.Rate))
	}
	if s.Stop > 0 && !s.next.Before(loop.Epoch.Add(s.Stop)) {
		s.done = true
	}
}

// serve sends one request that arrived at at.
func (t *Traffic) serve(s *stream, at time.Time) {
	since := at.Sub(loop.Epoch)
	if t.stale {
		for _, o := range t.streams {
			o.eligible = nil
		}
		t.stale = false
	}
	if s.eligible == nil {
		s.eligible = t.eligible(s)
	}
	if len(s.eligible) == 0 {
		s.stats.record(since, CauseNodeDown, 0)
		return
	}
	var node string
	if s.Clients == ClientsRandom {
		node = s.eligible[s.clients.IntN(len(s.eligible))]
	} else {
		node = s.eligible[s.rr%len(s.eligible)]
		s.rr++
	}
	p := t.proxy(node)
	if p == nil || !p.Up() {
		s.stats.record(since, CauseNoService, 0)
		return
	}
	ep, cause := p.Route(s.Service, s.Port, s.Via, s.picks)
	if cause == "" {
		cause = t.reality.Check(node, s.Via != ViaClusterIP, ep, at)
	}
	if cause != "" {
		s.stats.record(since, cause, 0)
		return
	}
	d := s.LatencyBase + time.Duration(s.latency.ExpFloat64()*float64(s.LatencyMean))
	s.stats.record(since, "", d)
}

// eligible lists the nodes the stream's requests may leave from or arrive at now.
func (t *Traffic) eligible(s *stream) []string {
	up := t.reality.UpNodes()
	if s.Via != ViaLoadBalancer {
		return up
	}
	var healthy []string
	for _, n := range up {
		if t.reality.Partitioned(n) {
			continue
		}
		p := t.proxy(n)
		if p == nil || !p.Up() {
			continue
		}
		if svc, _, _, ok := p.Lookup(s.Service, s.Port); ok && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && !p.HasLocalEndpoints(s.Service, s.Port) {
			continue
		}
		healthy = append(healthy, n)
	}
	if len(healthy) == 0 {
		return up
	}
	return healthy
}

// SetTick changes how often queued requests are processed (from the next tick on).
func (t *Traffic) SetTick(d time.Duration) {
	if d > 0 {
		t.tick = d
	}
}
