// Package proxy is kube-proxy and Service traffic.
//
// One Proxy runs per node (identity system:kube-proxy, role system:node-proxier). It
// watches Services and EndpointSlices through informers, learns every change after its own
// propagation delay, and reprograms its node's rules as upstream's iptables proxier does:
// through a bounded-frequency runner that syncs at once when it may, and otherwise at most
// once per minSyncPeriod (1 s by default), each sync taking the snapshot of what the proxy
// knows at that instant. Requests are routed by the rules last programmed, never by the
// API's current state — which is where failed requests come from.
//
// Endpoints are chosen as upstream's CategorizeEndpoints does: Ready endpoints; when a
// Service has none, its serving-and-terminating ones (ProxyTerminatingEndpoints); for
// internalTrafficPolicy or externalTrafficPolicy Local, only the endpoints on the node. A
// Service without usable endpoints rejects connections. The choice among endpoints is
// uniform at random, as iptables mode's statistic-mode random rules are.
//
// Traffic generates request streams to Services (a rate in requests per second; evenly
// spaced or Poisson arrivals from the run's seeded streams), sends each request from or
// to a node, routes it with that node's Proxy and meets the chosen pod as it really is
// (Reality, fed by the kubelets' container runtimes): a request fails, with its cause
// counted, when the proxy knows no endpoint, when the pod's node is down or cut off, or
// when the pod's container is not serving. Requests are processed in batches (at every
// tick, and before anything a request could see changes), each at its own arrival time,
// so counts are exact and do not depend on the batch size.
package proxy
