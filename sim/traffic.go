package sim

import (
	"fmt"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/proxy"
)

// TrafficConfig runs kube-proxy on every node and sends request streams to Services.
type TrafficConfig struct {
	// Proxy is every kube-proxy's timings.
	Proxy proxy.Options
	// Traffic is the request streams and their processing.
	proxy.Config
}

// traffic is a cluster's proxies, the reality requests meet, and the streams.
type traffic struct {
	opts    proxy.Options
	reality *proxy.Reality
	proxies map[string]*proxy.Proxy
	engine  *proxy.Traffic
}

// initTraffic sets up the proxies' shared parts and the request streams, before any
// kubelet exists; a nil cfg runs no proxies.
func (c *Cluster) initTraffic(cfg *TrafficConfig) error {
	if cfg == nil {
		return nil
	}
	t := &traffic{opts: cfg.Proxy, reality: proxy.NewReality(c.Loop), proxies: map[string]*proxy.Proxy{}}
	// A node cut off from the control plane is cut off from the other nodes too.
	t.reality.SetCutOff(c.API.IsCutOff)
	engine, err := proxy.NewTraffic(c.Loop, t.reality, func(node string) *proxy.Proxy { return t.proxies[node] }, cfg.Config)
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	t.engine = engine
	c.traffic = t
	engine.Start()
	return nil
}

// trackNode wraps a new node's runtime so that requests meet its containers as they
// are, and starts the node's kube-proxy.
func (c *Cluster) trackNode(node string, rt kubelet.Runtime) (kubelet.Runtime, error) {
	t := c.traffic
	if t == nil {
		return rt, nil
	}
	t.reality.NodeUp(node)
	// kube-proxy's requests come from its node: a node cut off from the control plane
	// keeps the rules it had.
	p := proxy.New(c.Loop, c.API.ClientOn(apiserver.User{Name: apiserver.ProxyUser}, node), node, t.opts)
	p.SetBeforeChange(t.engine.BeforeChange)
	t.proxies[node] = p
	if err := p.Start(); err != nil {
		return nil, err
	}
	return t.reality.Track(node, rt), nil
}

// trafficNodeDown records a node crash (or removal) before its kubelet stops.
func (c *Cluster) trafficNodeDown(node string, removed bool) {
	t := c.traffic
	if t == nil {
		return
	}
	if removed {
		t.reality.NodeRemoved(node)
	} else {
		t.reality.NodeDown(node)
	}
	if p := t.proxies[node]; p != nil {
		p.Stop()
	}
	if removed {
		delete(t.proxies, node)
	}
}

// trafficNodeUp records a node's recovery after its kubelet restarted.
func (c *Cluster) trafficNodeUp(node string) error {
	t := c.traffic
	if t == nil {
		return nil
	}
	t.reality.NodeUp(node)
	if p := t.proxies[node]; p != nil {
		return p.Start()
	}
	return nil
}

// Traffic returns the request streams' engine, or nil when the cluster runs no traffic.
func (c *Cluster) Traffic() *proxy.Traffic {
	if c.traffic == nil {
		return nil
	}
	return c.traffic.engine
}

// Reality returns what requests meet (nodes, partitions, containers), or nil when the
// cluster runs no traffic.
func (c *Cluster) Reality() *proxy.Reality {
	if c.traffic == nil {
		return nil
	}
	return c.traffic.reality
}

// Proxy returns the kube-proxy of a node, or nil.
func (c *Cluster) Proxy(node string) *proxy.Proxy {
	if c.traffic == nil {
		return nil
	}
	return c.traffic.proxies[node]
}
