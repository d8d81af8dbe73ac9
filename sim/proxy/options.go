package proxy

import (
	"time"
)

// Upstream's defaults (kube-proxy 1.34, iptables mode).
const (
	// DefaultMinSyncPeriod is KubeProxyConfiguration's minSyncPeriod default: at least this
	// long passes between the end of one rules sync and the start of the next, and the
	// changes that arrive meanwhile wait for that next sync together.
	DefaultMinSyncPeriod = 1 * time.Second
	// LabelServiceProxyName marks a Service for another proxy; kube-proxy ignores it.
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
)

// Options are a proxy's timings; zero fields take the defaults.
type Options struct {
	// MinSyncPeriod is the least time from the end of a sync to the start of the next; 0
	// means DefaultMinSyncPeriod and a negative value none (every change syncs at once,
	// as upstream's ipvs mode default of 0).
	MinSyncPeriod time.Duration
	// SyncDuration is how long a sync takes to program the node's rules (upstream's
	// sync_proxy_rules_duration_seconds: milliseconds on small clusters, up to seconds on
	// large iptables ones); the rules change at its end. Default 0.
	SyncDuration time.Duration
	// Delay is how long after the API server sends a watch event the proxy acts on it
	// (a slow or distant kube-proxy client), on top of the API server's watch latency.
	// Default 0.
	Delay time.Duration
	// DelayJitter gives each proxy its own extra delay, drawn once per node uniformly from
	// [0, DelayJitter) from the seeded stream proxy/<node>. Default 0.
	DelayJitter time.Duration
}

func (o Options) minSyncPeriod() time.Duration {
	switch {
	case o.MinSyncPeriod == 0:
		return DefaultMinSyncPeriod
	case o.MinSyncPeriod < 0:
		return 0
	}
	return o.MinSyncPeriod
}
