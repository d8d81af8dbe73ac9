package endpointslice

import (
	"sort"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// endpointSet is the desired endpoints of one port mapping, keyed as upstream hashes an
// endpoint (addresses, hostname, target namespace and name). Unlike upstream's map, it pops
// in insertion order (the pods' name order), which makes slice contents deterministic.
type endpointSet struct {
	items []*discoveryv1.Endpoint
	index map[string]int
	n     int
	next  int
}

func newEndpointSet() *endpointSet { return &endpointSet{index: map[string]int{}} }

func endpointKey(ep *discoveryv1.Endpoint) string {
	addrs := append([]string(nil), ep.Addresses...)
	sort.Strings(addrs)
	var b strings.Builder
	if ep.TargetRef != nil {
		b.WriteString(ep.TargetRef.Namespace + "/" + ep.TargetRef.Name)
	}
	b.WriteByte('|')
	if ep.Hostname != nil {
		b.WriteString(*ep.Hostname)
	}
	b.WriteByte('|')
	b.WriteString(strings.Join(addrs, ","))
	return b.String()
}

func (s *endpointSet) insert(ep *discoveryv1.Endpoint) {
	k := endpointKey(ep)
	if i, ok := s.index[k]; ok {
		s.items[i] = ep
		return
	}
	s.index[k] = len(s.items)
	s.items = append(s.items, ep)
	s.n++
}

func (s *endpointSet) get(ep *discoveryv1.Endpoint) *discoveryv1.Endpoint {
	if i, ok := s.index[endpointKey(ep)]; ok {
		return s.items[i]
	}
	return nil
}

func (s *endpointSet) remove(ep *discoveryv1.Endpoint) {
	k := endpointKey(ep)
	if i, ok := s.index[k]; ok {
		s.items[i] = nil
		delete(s.index, k)
		s.n--
	}
}

func (s *endpointSet) len() int { return s.n }

// pop removes and returns the earliest inserted endpoint left.
func (s *endpointSet) pop() *discoveryv1.Endpoint {
	for ; s.next < len(s.items); s.next++ {
		if ep := s.items[s.next]; ep != nil {
			s.remove(ep)
			s.next++
			return ep
		}
	}
	return nil
}

// equalBeyondKey reports whether two endpoints with the same key agree on everything else
// the controller sets: node, zone, conditions and target (ignoring its resourceVersion).
func equalBeyondKey(a, b *discoveryv1.Endpoint) bool {
	if !eqStr(a.NodeName, b.NodeName) || !eqStr(a.Zone, b.Zone) {
		return false
	}
	if !eqBool(a.Conditions.Ready, b.Conditions.Ready) || !eqBool(a.Conditions.Serving, b.Conditions.Serving) ||
		!eqBool(a.Conditions.Terminating, b.Conditions.Terminating) {
		return false
	}
	if (a.TargetRef == nil) != (b.TargetRef == nil) {
		return false
	}
	if a.TargetRef != nil {
		ra, rb := *a.TargetRef, *b.TargetRef
		ra.ResourceVersion, rb.ResourceVersion = "", ""
		if !equality.Semantic.DeepEqual(ra, rb) {
			return false
		}
	}
	return true
}

func eqStr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqBool(a, b *bool) bool  { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
