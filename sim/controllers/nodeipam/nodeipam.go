// Package nodeipam is the node IPAM controller with upstream's range allocator: it gives
// every node a spec.podCIDR (and podCIDRs) block of the cluster CIDR, marks blocks that
// nodes already carry as used, and frees a node's block when the node goes.
package nodeipam

import (
	"encoding/json"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Defaults, as kubeadm and kind configure kube-controller-manager, and upstream's names.
const (
	// DefaultClusterCIDR is --cluster-cidr as kind and kubeadm's flannel setups set it.
	DefaultClusterCIDR = "10.244.0.0/16"
	// DefaultNodeCIDRMaskSize is --node-cidr-mask-size-ipv4's default.
	DefaultNodeCIDRMaskSize = 24
	// CIDRUpdateRetries is how many times one sync tries to patch a node's podCIDR.
	CIDRUpdateRetries = 3
	// Component is the source of the allocator's Events.
	Component = "cidrAllocator"
)

// Options overrides the allocator's defaults.
type Options struct {
	// ClusterCIDR is the range node blocks are cut from; "" means DefaultClusterCIDR.
	ClusterCIDR string
	// NodeCIDRMaskSize is the prefix length of each node's block; 0 means
	// DefaultNodeCIDRMaskSize.
	NodeCIDRMaskSize int
}

// Controller is the node IPAM controller (range allocator).
type Controller struct {
	log      *eventlog.Log
	client   *apiserver.Client
	recorder *events.Recorder
	nodes    *informer.Informer
	queue    *controllers.Queue
	set      *cidrSet
	// pending holds blocks patched onto nodes whose cached object does not show them yet.
	pending  map[string]*net.IPNet
	identity string
}

// New returns the allocator, writing through client as the controller manager; it fails
// on an invalid cluster CIDR or mask size.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, nodes *informer.Informer, opts Options) (*Controller, error) {
	cidr := opts.ClusterCIDR
	if cidr == "" {
		cidr = DefaultClusterCIDR
	}
	mask := opts.NodeCIDRMaskSize
	if mask == 0 {
		mask = DefaultNodeCIDRMaskSize
	}
	_, cluster, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("node ipam: cluster CIDR: %w", err)
	}
	set, err := newCIDRSet(cluster, mask)
	if err != nil {
		return nil, fmt.Errorf("node ipam: %w", err)
	}
	c := &Controller{log: log, client: client, recorder: events.New(clock, client, Component, ""), nodes: nodes,
		set: set, pending: map[string]*net.IPNet{}, identity: apiserver.ControllerManagerUser}
	c.queue = controllers.NewQueue(clock, c.sync)
	nodes.AddHandler(informer.Handler{
		OnAdd: func(obj runtime.Object) {
			// Blocks nodes already carry are taken before anything is allocated.
			n := obj.(*corev1.Node)
			if len(podCIDRs(n)) > 0 {
				_ = c.occupy(n)
			}
			c.queue.Add(n.Name)
		},
		OnUpdate: func(_, cur runtime.Object) { c.queue.Add(cur.(*corev1.Node).Name) },
		OnDelete: func(obj runtime.Object) {
			n := obj.(*corev1.Node)
			c.release(n)
			c.queue.Add(n.Name)
		},
	})
	return c, nil
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func (c *Controller) occupy(n *corev1.Node) error {
	for _, s := range podCIDRs(n) {
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("failed to parse node %s, CIDR %s: %w", n.Name, s, err)
		}
		if err := c.set.occupy(cidr); err != nil {
			return fmt.Errorf("failed to mark cidr[%v] as occupied for node: %v: %w", s, n.Name, err)
		}
	}
	return nil
}

// release frees a node's blocks (and one patched onto it but not yet seen).
func (c *Controller) release(n *corev1.Node) {
	freed := podCIDRs(n)
	if p := c.pending[n.Name]; p != nil && len(freed) == 0 {
		freed = []string{p.String()}
	}
	delete(c.pending, n.Name)
	for _, s := range freed {
		if _, cidr, err := net.ParseCIDR(s); err != nil {
			continue
		} else if freed, err := c.set.release(cidr); err == nil && freed > 0 {
			c.log.Action(c.identity, "ReleasedPodCIDR", "nodes", "", n.Name, fmt.Sprintf("Released PodCIDR %s of node %s", s, n.Name))
		}
	}
}

func (c *Controller) sync(name string) error {
	obj, ok := c.nodes.Get("", name)
	if !ok {
		return nil
	}
	n := obj.(*corev1.Node)
	if n.DeletionTimestamp != nil {
		c.release(n)
		return nil
	}
	if len(podCIDRs(n)) > 0 {
		delete(c.pending, name)
		return c.occupy(n)
	}
	if c.pending[name] != nil {
		return nil // our patch has not reached the cache yet
	}
	cidr, err := c.set.allocateNext()
	if err != nil {
		msg := fmt.Sprintf("Node %s status is now: %s", name, "CIDRNotAvailable")
		_ = c.recorder.Event(n, corev1.EventTypeNormal, "CIDRNotAvailable", msg)
		c.log.Action(c.identity, "CIDRNotAvailable", "nodes", "", name, msg)
		return fmt.Errorf("failed to allocate cidr from cluster cidr at idx:0: %w", err)
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidr.String(), "podCIDRs": []string{cidr.String()}}})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	for i := 0; i < CIDRUpdateRetries; i++ {
		if _, err = c.client.Patch("nodes", "", name, types.StrategicMergePatchType, patch, ""); err == nil {
			c.pending[name] = cidr
			c.log.Action(c.identity, "SetPodCIDR", "nodes", "", name, fmt.Sprintf("Set node %s PodCIDR to [%s]", name, cidr))
			return nil
		}
	}
	msg := fmt.Sprintf("Node %s status is now: %s", name, "CIDRAssignmentFailed")
	_ = c.recorder.Event(n, corev1.EventTypeNormal, "CIDRAssignmentFailed", msg)
	c.log.Action(c.identity, "CIDRAssignmentFailed", "nodes", "", name, fmt.Sprintf("%s: %v", msg, err))
	_, _ = c.set.release(cidr)
	return fmt.Errorf("failed to patch node CIDR: %w", err)
}
