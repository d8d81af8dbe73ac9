package kubelet

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ipAllocator hands out pod IPs from the node's podCIDR in address order, skipping the
// network address and the gateway (the first host address), and reusing released ones
// lowest first. Each address records the pod holding it, as the CNI plugin's IPAM state
// on the node's disk does: it outlives a kubelet restart.
type ipAllocator struct {
	prefix netip.Prefix
	ok     bool
	used   map[netip.Addr]types.UID
}

func newIPAllocator(cidr string) *ipAllocator {
	a := &ipAllocator{used: map[netip.Addr]types.UID{}}
	if p, err := netip.ParsePrefix(cidr); err == nil {
		a.prefix, a.ok = p.Masked(), true
	}
	return a
}

// allocate returns the lowest free address for the pod, or "" when there is no podCIDR or
// it is full.
func (a *ipAllocator) allocate(uid types.UID) string {
	if !a.ok {
		return ""
	}
	ip := a.prefix.Addr().Next() // the gateway
	for ip = ip.Next(); ip.IsValid() && a.prefix.Contains(ip); ip = ip.Next() {
		if a.prefix.Addr().Is4() && isBroadcast(a.prefix, ip) {
			break
		}
		if _, taken := a.used[ip]; !taken {
			a.used[ip] = uid
			return ip.String()
		}
	}
	return ""
}

func isBroadcast(p netip.Prefix, ip netip.Addr) bool {
	next := ip.Next()
	return !next.IsValid() || !p.Contains(next)
}

// claim marks an address in use by the pod (its IP from before a kubelet restart); it
// fails if another pod holds it.
func (a *ipAllocator) claim(ip string, uid types.UID) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !a.ok || !a.prefix.Contains(addr) {
		return false
	}
	if owner, taken := a.used[addr]; taken && owner != uid {
		return false
	}
	a.used[addr] = uid
	return true
}

// release frees the pod's address (not one another pod holds since).
func (a *ipAllocator) release(ip string, uid types.UID) {
	if addr, err := netip.ParseAddr(ip); err == nil && a.used[addr] == uid {
		delete(a.used, addr)
	}
}

// retain frees the addresses of pods keep rejects.
func (a *ipAllocator) retain(keep func(types.UID) bool) {
	for addr, uid := range a.used {
		if !keep(uid) {
			delete(a.used, addr)
		}
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
