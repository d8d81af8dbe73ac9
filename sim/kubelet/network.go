package kubelet

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// ipAllocator hands out pod IPs from the node's podCIDR in address order, skipping the
// network address and the gateway (the first host address), and reusing released ones
// lowest first.
type ipAllocator struct {
	prefix netip.Prefix
	ok     bool
	used   map[netip.Addr]bool
}

func newIPAllocator(cidr string) *ipAllocator {
	a := &ipAllocator{used: map[netip.Addr]bool{}}
	if p, err := netip.ParsePrefix(cidr); err == nil {
		a.prefix, a.ok = p.Masked(), true
	}
	return a
}

// allocate returns the lowest free address, or "" when there is no podCIDR or it is full.
func (a *ipAllocator) allocate() string {
	if !a.ok {
		return ""
	}
	ip := a.prefix.Addr().Next() // the gateway
	for ip = ip.Next(); ip.IsValid() && a.prefix.Contains(ip); ip = ip.Next() {
		if a.prefix.Addr().Is4() && isBroadcast(a.prefix, ip) {
			break
		}
		if !a.used[ip] {
			a.used[ip] = true
			return ip.String()
		}
	}
	return ""
}

func isBroadcast(p netip.Prefix, ip netip.Addr) bool {
	next := ip.Next()
	return !next.IsValid() || !p.Contains(next)
}

// claim marks an address already in use (a pod's IP from before a kubelet restart).
func (a *ipAllocator) claim(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !a.ok || !a.prefix.Contains(addr) || a.used[addr] {
		return false
	}
	a.used[addr] = true
	return true
}

func (a *ipAllocator) release(ip string) {
	if addr, err := netip.ParseAddr(ip); err == nil {
		delete(a.used, addr)
	}
}

func (a *ipAllocator) reset() { clear(a.used) }

// hostIP returns the node's InternalIP address, or "".
func hostIP(n *corev1.Node) string {
	for _, addr := range n.Status.Addresses {
		if addr.Type == corev1.NodeInternalIP {
			return addr.Address
		}
	}
	return ""
}

// refreshPodCIDR picks up the podCIDR the node IPAM controller assigned after the node
// registered, as the kubelet's own-node informer does upstream.
func (k *Kubelet) refreshPodCIDR() {
	if k.ips.ok {
		return
	}
	obj, err := k.client.Get("nodes", "", k.name)
	if err != nil {
		return
	}
	if cidr := obj.(*corev1.Node).Spec.PodCIDR; cidr != "" {
		*k.ips = *newIPAllocator(cidr)
	}
}
