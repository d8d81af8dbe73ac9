package nodeipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

// clusterSubnetMaxDiff is how many bits longer than the cluster CIDR's mask a node's mask
// may be, as upstream's bitmap allows.
const clusterSubnetMaxDiff = 16

// errNoCIDRsRemaining is returned when every block of the cluster CIDR is allocated.
var errNoCIDRsRemaining = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// cidrSet hands out the /nodeMask blocks of an IPv4 cluster CIDR as upstream's CidrSet:
// a bitmap of used blocks and a rotating next candidate, so that a freed block is reused
// only once the allocator has come round to it again.
type cidrSet struct {
	cluster   *net.IPNet
	base      uint32
	nodeMask  int
	used      []bool
	allocated int
	next      int
}

func newCIDRSet(cluster *net.IPNet, nodeMask int) (*cidrSet, error) {
	ip4 := cluster.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("cluster CIDR %s: only IPv4 is simulated", cluster)
	}
	clusterMask, _ := cluster.Mask.Size()
	if nodeMask < clusterMask || nodeMask-clusterMask > clusterSubnetMaxDiff || nodeMask > 32 {
		return nil, fmt.Errorf("New CIDR set failed; the node CIDR size is too big: node mask /%d in cluster CIDR %s", nodeMask, cluster)
	}
	return &cidrSet{cluster: cluster, base: binary.BigEndian.Uint32(ip4), nodeMask: nodeMask, used: make([]bool, 1<<(nodeMask-clusterMask))}, nil
}

func (s *cidrSet) block(i int) *net.IPNet {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, s.base|uint32(i)<<(32-s.nodeMask))
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.nodeMask, 32)}
}

// allocateNext takes the first free block at or after the next candidate, wrapping round.
func (s *cidrSet) allocateNext() (*net.IPNet, error) {
	if s.allocated == len(s.used) {
		return nil, errNoCIDRsRemaining
	}
	c := s.next
	for s.used[c] {
		c = (c + 1) % len(s.used)
	}
	s.next = (c + 1) % len(s.used)
	s.used[c] = true
	s.allocated++
	return s.block(c), nil
}

// indices returns the range of blocks a CIDR covers.
func (s *cidrSet) indices(cidr *net.IPNet) (int, int, error) {
	ip4 := cidr.IP.To4()
	if ip4 == nil || !s.cluster.Contains(ip4) {
		return 0, 0, fmt.Errorf("cidr %v is out the range of cluster cidr %v", cidr, s.cluster)
	}
	clusterMask, _ := s.cluster.Mask.Size()
	mask, _ := cidr.Mask.Size()
	if mask < clusterMask {
		return 0, 0, fmt.Errorf("cidr %v is out the range of cluster cidr %v", cidr, s.cluster)
	}
	offset := (binary.BigEndian.Uint32(ip4) - s.base) >> (32 - s.nodeMask)
	begin := int(offset)
	end := begin
	if mask < s.nodeMask {
		end = begin + 1<<(s.nodeMask-mask) - 1
	}
	return begin, min(end, len(s.used)-1), nil
}

// occupy marks a CIDR's blocks used.
func (s *cidrSet) occupy(cidr *net.IPNet) error {
	b, e, err := s.indices(cidr)
	if err != nil {
		return err
	}
	for i := b; i <= e; i++ {
		if !s.used[i] {
			s.used[i] = true
			s.allocated++
		}
	}
	return nil
}

// release frees a CIDR's blocks and returns how many were in use.
func (s *cidrSet) release(cidr *net.IPNet) (int, error) {
	b, e, err := s.indices(cidr)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := b; i <= e; i++ {
		if s.used[i] {
			s.used[i] = false
			s.allocated--
			n++
		}
	}
	return n, nil
}
