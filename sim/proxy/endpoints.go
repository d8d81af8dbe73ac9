package proxy

import (
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Endpoint is one backend of a Service port as a proxy programmed it.
type Endpoint struct {
	// Address and Port are where connections go.
	Address string
	Port    int32
	// Node is the endpoint's nodeName ("" if the slice did not say).
	Node string
	// Pod and PodUID identify the target pod (namespace/name), if the slice names one.
	Pod    string
	PodUID types.UID
	// Ready, Serving and Terminating are the endpoint's conditions, with upstream's
	// reading of unset ones: ready and serving unless said otherwise, not terminating.
	Ready, Serving, Terminating bool
}

// portTable is what a proxy programmed for one Service port.
type portTable struct {
	port corev1.ServicePort
	// cluster and local are upstream's usable endpoints for Cluster and Local traffic
	// policy: Ready ones, or serving-and-terminating ones when there are no Ready ones.
	cluster, local []Endpoint
	// hasAny says whether any endpoint anywhere is usable; a Service without one rejects
	// connections, one with only remote ones drops Local-policy traffic.
	hasAny bool
}

// serviceTable is what a proxy programmed for one Service.
type serviceTable struct {
	svc   *corev1.Service
	ports []*portTable
}

// proxied reports whether kube-proxy programs rules for the Service: not ExternalName,
// not headless, not claimed by another proxy.
func proxied(svc *corev1.Service) bool {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return false
	}
	_, other := svc.Labels[LabelServiceProxyName]
	return !other
}

// buildService computes a Service's table on node from its EndpointSlices (in name order):
// endpoints are merged across slices by address and port, the first slice's copy winning,
// as upstream's endpoint slice cache does.
func buildService(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, node string) *serviceTable {
	t := &serviceTable{svc: svc}
	for _, sp := range svc.Spec.Ports {
		var all []Endpoint
		seen := map[string]bool{}
		for _, s := range slices {
			num, ok := slicePort(s, sp.Name, sp.Protocol)
			if !ok {
				continue
			}
			for i := range s.Endpoints {
				e := &s.Endpoints[i]
				if len(e.Addresses) == 0 {
					continue
				}
				addr := e.Addresses[0]
				key := addr + ":" + strconv.Itoa(int(num))
				if seen[key] {
					continue
				}
				seen[key] = true
				all = append(all, toEndpoint(e, addr, num))
			}
		}
		pt := &portTable{port: sp}
		pt.cluster, pt.local, pt.hasAny = categorize(all, node)
		t.ports = append(t.ports, pt)
	}
	return t
}

// slicePort finds the slice's port with the Service port's name and protocol.
func slicePort(s *discoveryv1.EndpointSlice, name string, proto corev1.Protocol) (int32, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pn == name && pp == proto && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

func toEndpoint(e *discoveryv1.Endpoint, addr string, port int32) Endpoint {
	ep := Endpoint{Address: addr, Port: port, Ready: true, Serving: true}
	if c := e.Conditions.Ready; c != nil {
		ep.Ready = *c
	}
	// An unset serving condition takes the ready one's value.
	ep.Serving = ep.Ready
	if c := e.Conditions.Serving; c != nil {
		ep.Serving = *c
	}
	if c := e.Conditions.Terminating; c != nil {
		ep.Terminating = *c
	}
	if e.NodeName != nil {
		ep.Node = *e.NodeName
	}
	if r := e.TargetRef; r != nil && r.Kind == "Pod" {
		ep.Pod, ep.PodUID = r.Namespace+"/"+r.Name, r.UID
	}
	return ep
}

// categorize is upstream's CategorizeEndpoints without topology hints: the usable
// endpoints for Cluster policy (Ready, else serving-and-terminating), those for Local
// policy (the same rule among the node's own), and whether any endpoint is usable.
func categorize(all []Endpoint, node string) (cluster, local []Endpoint, hasAny bool) {
	usable := func(local bool) []Endpoint {
		var ready, terminating []Endpoint
		for _, ep := range all {
			if local && ep.Node != node {
				continue
			}
			switch {
			case ep.Ready:
				ready = append(ready, ep)
			case ep.Serving && ep.Terminating:
				terminating = append(terminating, ep)
			}
		}
		if len(ready) > 0 {
			return ready
		}
		return terminating
	}
	cluster = usable(false)
	local = usable(true)
	sortEndpoints(cluster)
	sortEndpoints(local)
	return cluster, local, len(cluster) > 0
}

func sortEndpoints(eps []Endpoint) {
	sort.Slice(eps, func(i, j int) bool {
		if eps[i].Address != eps[j].Address {
			return eps[i].Address < eps[j].Address
		}
		return eps[i].Port < eps[j].Port
	})
}

// port finds a Service port by name or number ("" is the first port).
func (t *serviceTable) port(ref string) *portTable {
	if len(t.ports) == 0 {
		return nil
	}
	if ref == "" {
		return t.ports[0]
	}
	for _, p := range t.ports {
		if p.port.Name == ref || strconv.Itoa(int(p.port.Port)) == ref {
			return p
		}
	}
	return nil
}
