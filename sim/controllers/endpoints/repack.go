//lint:file-ignore SA1019 the legacy Endpoints API is what this controller writes

package endpoints

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/dump"
)

// addressKey identifies an address across subsets: IP and target UID.
type addressKey struct {
	ip  string
	uid types.UID
}

// noPort stands for "no ports" while repacking, so that port-less addresses of a headless
// Service survive.
var noPort = corev1.EndpointPort{Port: -1}

// repackSubsets rewrites subsets in the canonical layout upstream's RepackSubsets produces:
// one subset per distinct set of (address, ready) pairs, holding every port those addresses
// share; an address not ready on a port is not ready there even if another subset said
// ready. The result is sorted as upstream sorts it.
func repackSubsets(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	addrs := map[addressKey]*corev1.EndpointAddress{}
	var addrOrder []addressKey
	byPort := map[corev1.EndpointPort]map[addressKey]bool{}
	var portOrder []corev1.EndpointPort
	add := func(a *corev1.EndpointAddress, port corev1.EndpointPort, ready bool) {
		k := addressKey{ip: a.IP}
		if a.TargetRef != nil {
			k.uid = a.TargetRef.UID
		}
		if _, ok := addrs[k]; !ok {
			c := *a
			addrs[k] = &c
			addrOrder = append(addrOrder, k)
		}
		set, ok := byPort[port]
		if !ok {
			set = map[addressKey]bool{}
			byPort[port] = set
			portOrder = append(portOrder, port)
		}
		if was, found := set[k]; !found || was {
			set[k] = ready
		}
	}
	for i := range subsets {
		ports := subsets[i].Ports
		if len(ports) == 0 {
			ports = []corev1.EndpointPort{noPort}
		}
		for _, port := range ports {
			for k := range subsets[i].Addresses {
				add(&subsets[i].Addresses[k], port, true)
			}
			for k := range subsets[i].NotReadyAddresses {
				add(&subsets[i].NotReadyAddresses[k], port, false)
			}
		}
	}

	// Group ports by their exact set of (address, ready) pairs.
	type group struct {
		set   map[addressKey]bool
		ports []corev1.EndpointPort
	}
	groups := map[string]*group{}
	var groupOrder []string
	for _, port := range portOrder {
		set := byPort[port]
		var b bytes.Buffer
		for _, k := range addrOrder {
			if ready, ok := set[k]; ok {
				fmt.Fprintf(&b, "%s|%s|%t;", k.ip, k.uid, ready)
			}
		}
		key := b.String()
		g, ok := groups[key]
		if !ok {
			g = &group{set: set}
			groups[key] = g
			groupOrder = append(groupOrder, key)
		}
		if port != noPort {
			g.ports = append(g.ports, port)
		}
	}
	out := []corev1.EndpointSubset{}
	for _, key := range groupOrder {
		g := groups[key]
		var ss corev1.EndpointSubset
		for _, k := range addrOrder {
			ready, ok := g.set[k]
			switch {
			case !ok:
			case ready:
				ss.Addresses = append(ss.Addresses, *addrs[k])
			default:
				ss.NotReadyAddresses = append(ss.NotReadyAddresses, *addrs[k])
			}
		}
		ss.Ports = g.ports
		out = append(out, ss)
	}
	return sortSubsets(out)
}

// sortSubsets sorts addresses by IP then target UID, and ports and subsets by the MD5 of
// their dump, as upstream's SortSubsets does.
func sortSubsets(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	for i := range subsets {
		ss := &subsets[i]
		sort.Slice(ss.Addresses, func(a, b int) bool { return lessAddress(&ss.Addresses[a], &ss.Addresses[b]) })
		sort.Slice(ss.NotReadyAddresses, func(a, b int) bool { return lessAddress(&ss.NotReadyAddresses[a], &ss.NotReadyAddresses[b]) })
		sortByHash(ss.Ports)
	}
	sortByHash(subsets)
	return subsets
}

func sortByHash[T any](items []T) {
	hashes := make([][]byte, len(items))
	for i := range items {
		h := md5.Sum([]byte(dump.ForHash(items[i])))
		hashes[i] = h[:]
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return bytes.Compare(hashes[idx[a]], hashes[idx[b]]) < 0 })
	sorted := make([]T, len(items))
	for i, j := range idx {
		sorted[i] = items[j]
	}
	copy(items, sorted)
}

func lessAddress(a, b *corev1.EndpointAddress) bool {
	if c := bytes.Compare([]byte(a.IP), []byte(b.IP)); c != 0 {
		return c < 0
	}
	if b.TargetRef == nil {
		return false
	}
	if a.TargetRef == nil {
		return true
	}
	return a.TargetRef.UID < b.TargetRef.UID
}
