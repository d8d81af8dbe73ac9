package imagelocality

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// imageIndex knows, for the cluster's nodes, which image names each node reports in
// status.images (with their sizes) and how many nodes report each name. It is refreshed at
// the start of a cycle: nodes whose Node object is the same pointer as last time are not
// looked at again.
type imageIndex struct {
	nodes  []indexedNode
	byInfo map[*framework.NodeInfo]int // position in nodes
	count  map[string]int
	// gen is the handle's NodesGeneration at the last refresh (0: unknown); while it holds,
	// no node changed and refresh has nothing to do.
	gen uint64
}

type indexedNode struct {
	info   *framework.NodeInfo
	node   *corev1.Node
	images map[string]int64 // image name → size in bytes
}

// nodeImages is the node's image names and sizes; a name listed twice keeps its first size.
func nodeImages(node *corev1.Node) map[string]int64 {
	if node == nil || len(node.Status.Images) == 0 {
		return nil
	}
	m := make(map[string]int64, len(node.Status.Images))
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if _, ok := m[name]; !ok {
				m[name] = img.SizeBytes
			}
		}
	}
	return m
}

func (x *imageIndex) add(images map[string]int64, sign int) {
	for name := range images {
		x.count[name] += sign
		if x.count[name] <= 0 {
			delete(x.count, name)
		}
	}
}

// refresh brings the index up to date with nodes (the handle's NodeInfos, in name order).
func (x *imageIndex) refresh(nodes []*framework.NodeInfo, gen uint64) {
	if gen != 0 && gen == x.gen {
		return
	}
	x.gen = gen
	same := len(nodes) == len(x.nodes)
	for i := 0; same && i < len(nodes); i++ {
		same = nodes[i] == x.nodes[i].info
	}
	if !same {
		x.nodes = make([]indexedNode, len(nodes))
		x.byInfo = make(map[*framework.NodeInfo]int, len(nodes))
		x.count = map[string]int{}
		for i, ni := range nodes {
			x.nodes[i] = indexedNode{info: ni, node: ni.Node, images: nodeImages(ni.Node)}
			x.byInfo[ni] = i
			x.add(x.nodes[i].images, 1)
		}
		return
	}
	for i := range x.nodes {
		e := &x.nodes[i]
		if e.info.Node == e.node {
			continue
		}
		x.add(e.images, -1)
		e.node = e.info.Node
		e.images = nodeImages(e.node)
		x.add(e.images, 1)
	}
}

// sizes returns the node's images; a node the index has not seen is read directly.
func (x *imageIndex) sizes(n *framework.NodeInfo) map[string]int64 {
	if i, ok := x.byInfo[n]; ok && x.nodes[i].node == n.Node {
		return x.nodes[i].images
	}
	return nodeImages(n.Node)
}
