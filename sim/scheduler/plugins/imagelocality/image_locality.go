// Package imagelocality is the ImageLocality plugin: nodes that already hold a pod's
// container images score higher, by image size scaled by how widely the image is spread
// across the cluster (so that one node holding a rare image does not attract every pod).
package imagelocality

import (
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "ImageLocality"

// Upstream's thresholds: below minThreshold of (scaled) image bytes a node scores 0, and at
// maxContainerThreshold per container it scores MaxNodeScore.
const (
	mb                    int64 = 1024 * 1024
	minThreshold          int64 = 23 * mb
	maxContainerThreshold int64 = 1000 * mb
)

// defaultImageTag is the tag an image reference without one stands for.
const defaultImageTag = "latest"

const preScoreStateKey = "PreScore" + Name

// ImageLocality is the plugin. It keeps an index of which images the nodes hold, updated
// only for nodes whose Node object changed since the last cycle.
type ImageLocality struct {
	handle framework.Handle
	index  imageIndex
	// nameBuf holds an image name being normalised, to look it up without allocating.
	nameBuf []byte
}

var (
	_ framework.PreScorePlugin = (*ImageLocality)(nil)
	_ framework.ScorePlugin    = (*ImageLocality)(nil)
)

// New is the plugin's factory; the plugin takes no args (they are ignored, as upstream
// ignores them) and needs the handle to see every node.
func New(_ runtime.Object, h framework.Handle) (framework.Plugin, error) {
	if h == nil {
		return nil, errors.New(Name + ": a handle is required")
	}
	return &ImageLocality{handle: h}, nil
}

// Name returns the plugin's name.
func (pl *ImageLocality) Name() string { return Name }

// podImage is one container's image, normalised, with how many nodes hold it.
type podImage struct {
	name     string
	numNodes int
}

// preScoreState is the pod's images (init containers first, then containers) with their
// spread, computed once per cycle.
type preScoreState struct {
	images        []podImage
	numContainers int
	totalNumNodes int
	// anyPresent is false when no node holds any of the images: every node scores 0.
	anyPresent bool
}

// normalizedImageName adds ":latest" to an image reference without a tag, as the node's
// image list names it (a ":" before the last "/" is a registry port, not a tag).
func normalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name = name + ":" + defaultImageTag
	}
	return name
}

func (pl *ImageLocality) newPreScoreState(pod *corev1.Pod) *preScoreState {
	s := &preScoreState{}
	pl.initPreScoreState(s, pod, len(pl.refreshIndex()))
	return s
}

// refreshIndex brings the image index up to date with the cluster's nodes and returns them.
func (pl *ImageLocality) refreshIndex() []*framework.NodeInfo {
	nodes := pl.handle.NodeInfos()
	var gen uint64
	if v, ok := pl.handle.(framework.NodeVersioner); ok {
		gen = v.NodesGeneration()
	}
	pl.index.refresh(nodes, gen)
	return nodes
}

// initPreScoreState makes s (new, or last cycle's) the state of pod in a cluster of
// numNodes, the index being up to date.
func (pl *ImageLocality) initPreScoreState(s *preScoreState, pod *corev1.Pod, numNodes int) {
	*s = preScoreState{images: s.images[:0], numContainers: len(pod.Spec.InitContainers) + len(pod.Spec.Containers), totalNumNodes: numNodes}
	add := func(cs []corev1.Container) {
		for i := range cs {
			// The normalised name is looked up from a buffer, and made a string only
			// for an image some node holds: no node's sizes name the others.
			n := pl.index.count[string(pl.normalize(cs[i].Image))]
			var name string
			if n > 0 {
				name = normalizedImageName(cs[i].Image)
				s.anyPresent = true
			}
			s.images = append(s.images, podImage{name: name, numNodes: n})
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
}

// normalize is normalizedImageName in the plugin's buffer (valid until the next call).
func (pl *ImageLocality) normalize(name string) []byte {
	pl.nameBuf = append(pl.nameBuf[:0], name...)
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		pl.nameBuf = append(append(pl.nameBuf, ':'), defaultImageTag...)
	}
	return pl.nameBuf
}

// PreScore looks up, once per cycle, how many nodes hold each of the pod's images. When no
// node holds any of them every node would score 0 (the sum is clamped up to the 23 MiB
// floor, which maps to 0), so the plugin skips Score, leaving every total as it would be.
func (pl *ImageLocality) PreScore(state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	nodes := pl.refreshIndex()
	if len(pl.index.count) == 0 {
		// No node reports any image (as in clusters whose kubelets report none).
		return framework.NewStatus(framework.Skip)
	}
	s, ok := state.Recycled(preScoreStateKey).(*preScoreState)
	if !ok {
		s = &preScoreState{}
	}
	pl.initPreScoreState(s, pod, len(nodes))
	state.Write(preScoreStateKey, s)
	if !s.anyPresent {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is upstream's calculatePriority over the sum, for each container whose image the
// node holds, of size * nodesWithImage / allNodes (truncated): clamped to [23MiB,
// 1000MiB*containers] and mapped linearly onto [0, MaxNodeScore] with integer division.
func (pl *ImageLocality) Score(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(preScoreStateKey)
	if !ok {
		v = pl.newPreScoreState(pod)
		state.Write(preScoreStateKey, v)
	}
	s := v.(*preScoreState)
	if !s.anyPresent {
		return calculatePriority(0, s.numContainers), nil
	}
	sizes := pl.index.sizes(n)
	var sum int64
	for _, img := range s.images {
		if size, ok := sizes[img.name]; ok {
			sum += scaledImageScore(size, img.numNodes, s.totalNumNodes)
		}
	}
	return calculatePriority(sum, s.numContainers), nil
}

// scaledImageScore is the image's size times its spread, the share of nodes holding it.
func scaledImageScore(size int64, numNodes, totalNumNodes int) int64 {
	spread := float64(numNodes) / float64(totalNumNodes)
	return int64(float64(size) * spread)
}

// calculatePriority maps the summed image scores onto [0, MaxNodeScore].
func calculatePriority(sumScores int64, numContainers int) int64 {
	maxThreshold := maxContainerThreshold * int64(numContainers)
	if sumScores < minThreshold {
		sumScores = minThreshold
	} else if sumScores > maxThreshold {
		sumScores = maxThreshold
	}
	return framework.MaxNodeScore * (sumScores - minThreshold) / (maxThreshold - minThreshold)
}
