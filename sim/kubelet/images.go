package kubelet

import "time"

// ImageOptions describe images and the node's pulls for the simulated runtime
// (NewSimRuntimeFor); zero fields take the defaults. A real runtime ignores them.
type ImageOptions struct {
	// Sizes gives images' sizes in bytes by the name pods use (images preloaded from the
	// node's status.images carry their own sizeBytes).
	Sizes map[string]int64
	// DefaultSize is the size of any other image (DefaultImageSize).
	DefaultSize int64
	// PullBandwidth is how fast the node downloads and unpacks layers, in bytes per second
	// (DefaultPullBandwidth).
	PullBandwidth int64
	// PullLatency is every pull's fixed cost, the registry round trips; it is all that a
	// pull of an image already on the node costs (DefaultRegistryLatency).
	PullLatency time.Duration
}

// imagePuller hands pulls to the runtime as upstream's image manager does: with
// serializeImagePulls (the default) one at a time in request order, the others waiting;
// otherwise up to maxParallelImagePulls at once (0: no cap).
type imagePuller struct {
	k       *Kubelet
	max     int
	active  int
	queue   []pullRequest
	stopped bool
}

type pullRequest struct {
	image string
	done  func(size int64, err error, pulling time.Duration)
}

func newImagePuller(k *Kubelet) *imagePuller {
	p := &imagePuller{k: k, max: 1}
	if s := k.cfg.SerializeImagePulls; s != nil && !*s {
		p.max = 0
		if m := k.cfg.MaxParallelImagePulls; m != nil && *m > 0 {
			p.max = int(*m)
		}
	}
	return p
}

// pull queues a pull of image; done receives the runtime's answer and how long the pull
// itself took (without the wait in the queue).
func (p *imagePuller) pull(image string, done func(size int64, err error, pulling time.Duration)) {
	p.queue = append(p.queue, pullRequest{image: image, done: done})
	p.next()
}

// stop drops the queued pulls of a kubelet that stops (pulls under way finish in the
// runtime; nobody hears of them).
func (p *imagePuller) stop() {
	p.queue = nil
	p.stopped = true
}

// next starts queued pulls while there is room.
func (p *imagePuller) next() {
	if p.stopped {
		return
	}
	for len(p.queue) > 0 && (p.max == 0 || p.active < p.max) {
		req := p.queue[0]
		p.queue = p.queue[1:]
		p.active++
		start := p.k.clock.Now()
		p.k.runtime.PullImage(req.image, func(size int64, err error) {
			p.active--
			req.done(size, err, p.k.clock.Now().Sub(start))
			p.next()
		})
	}
}
