package kubelet

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Simulated runtime latencies (defaults; a pod's usage profile overrides the start latency
// and SIGTERM handling).
const (
	// DefaultRegistryLatency is the fixed cost of every image pull: resolving the reference
	// and fetching the manifest from the registry. It is all a pull of an image whose
	// layers are already on the node costs (imagePullPolicy Always), and how soon a pull of
	// an image absent from its registry fails.
	DefaultRegistryLatency = time.Second
	// DefaultPullBandwidth is how fast a node downloads and unpacks image layers, in bytes
	// per second (50 MiB/s).
	DefaultPullBandwidth = 50 << 20
	// DefaultImageSize is the size of an image whose size is not configured (50 MiB).
	DefaultImageSize = 50 << 20
	// DefaultImagePullLatency is how long a cold pull of an image of the default size takes
	// with the default latency and bandwidth: 2s.
	DefaultImagePullLatency = DefaultRegistryLatency + DefaultImageSize*time.Second/DefaultPullBandwidth
	// DefaultContainerStartLatency is how long creating and starting a container takes.
	DefaultContainerStartLatency = 500 * time.Millisecond
	// DefaultSIGTERMExitLatency is how long a process takes to exit after SIGTERM.
	DefaultSIGTERMExitLatency = 100 * time.Millisecond
	// OOMLookahead is how far ahead the runtime searches a random-walk memory curve for the
	// moment it reaches the limit before looking again.
	OOMLookahead = time.Hour
)

// SimRuntime is a container runtime in virtual time. A pull takes the registry latency,
// plus the image's size over the pull bandwidth when its layers are not on the node yet;
// concurrent pulls of one image are one pull. Containers start after their profile's
// startup time, exit after runFor, crash as their profile says, are OOM-killed when their
// memory curve reaches their limit, and answer probes and usage queries (CPU, memory,
// disk) from their profile. It keeps a record of the latest instance of every container
// (created, running, exited) until its pod is removed, so that a restarted kubelet finds
// what still runs; fault hooks crash containers and slow pulls down (see FaultRuntime).
type SimRuntime struct {
	clock      loop.Clock
	images     map[string]*Image
	missing    map[string]bool
	pulling    map[string][]func(int64, error)
	containers map[string]*simContainer // created or running, by ID
	records    ContainerRecords
	slowdowns  []*pullSlowdown
	gen        uint64
	// PullLatency is every pull's fixed cost (DefaultRegistryLatency).
	PullLatency time.Duration
	// PullBandwidth is the layer download speed in bytes per second (DefaultPullBandwidth).
	PullBandwidth int64
	// ImageSizes gives images' sizes in bytes by the name pods use; others have
	// DefaultImageSize.
	ImageSizes map[string]int64
	// DefaultImageSize is the size of images not in ImageSizes (DefaultImageSize).
	DefaultImageSize int64
	// StartLatency and TermLatency override the container start and SIGTERM exit defaults.
	StartLatency, TermLatency time.Duration
}

type simContainer struct {
	cfg            ContainerConfig
	rec            *RuntimeContainer
	startedAt      time.Time
	running        bool
	exited         *Exit
	onExit         func(Exit) // the exited callback of StartContainer
	stopping       bool       // SIGTERM sent: gone at stopAt
	stopAt         time.Time
	stopDone       []func(Exit)
	timers         []*loop.Timer
	cpu, mem, disk *model.Series
	cpuLimit       int64 // millicores, 0 = none
	memLimit       int64 // bytes, 0 = none
}

// NewSimRuntime returns a simulated runtime with the given images already present (with
// their configured or default sizes).
func NewSimRuntime(clock loop.Clock, images ...string) *SimRuntime {
	r := &SimRuntime{clock: clock, images: map[string]*Image{}, missing: map[string]bool{}, pulling: map[string][]func(int64, error){}, containers: map[string]*simContainer{},
		records:     ContainerRecords{},
		PullLatency: DefaultRegistryLatency, PullBandwidth: DefaultPullBandwidth, DefaultImageSize: DefaultImageSize,
		StartLatency: DefaultContainerStartLatency, TermLatency: DefaultSIGTERMExitLatency}
	for _, img := range images {
		r.images[img] = &Image{Name: img, Since: clock.Now()}
	}
	return r
}

// NewSimRuntimeFor returns the simulated runtime of cfg.Node: cfg.Images' sizes, pull
// bandwidth and latency, and the node's status.images already present with their
// sizeBytes.
func NewSimRuntimeFor(clock loop.Clock, cfg Config) *SimRuntime {
	r := NewSimRuntime(clock)
	o := cfg.Images
	if o.PullLatency > 0 {
		r.PullLatency = o.PullLatency
	}
	if o.PullBandwidth > 0 {
		r.PullBandwidth = o.PullBandwidth
	}
	if o.DefaultSize > 0 {
		r.DefaultImageSize = o.DefaultSize
	}
	r.ImageSizes = o.Sizes
	if cfg.Node != nil {
		r.Preload(cfg.Node.Status.Images...)
	}
	return r
}

// Preload makes images present under each of their names, with their sizeBytes (the
// configured or default size when 0).
func (r *SimRuntime) Preload(images ...corev1.ContainerImage) {
	for _, img := range images {
		for _, name := range img.Names {
			r.images[name] = &Image{Name: name, SizeBytes: img.SizeBytes, Since: r.clock.Now()}
		}
	}
}

// sizeOf is the image's size: as present on the node, configured, or the default.
func (r *SimRuntime) sizeOf(image string) int64 {
	if img := r.images[image]; img != nil && img.SizeBytes > 0 {
		return img.SizeBytes
	}
	if s, ok := r.ImageSizes[image]; ok {
		return s
	}
	return r.DefaultImageSize
}

// transferTime is how long downloading size bytes takes at bandwidth bytes per second, to
// the nanosecond (0 without a bandwidth).
func transferTime(size, bandwidth int64) time.Duration {
	if bandwidth <= 0 || size <= 0 {
		return 0
	}
	bw := uint64(bandwidth)
	secs, rem := uint64(size)/bw, uint64(size)%bw
	hi, lo := bits.Mul64(rem, uint64(time.Second))
	frac, _ := bits.Div64(hi, lo, bw) // rem < bw, so the quotient fits
	return time.Duration(secs)*time.Second + time.Duration(frac)
}

// MarkMissing makes pulls of the images fail, as for images absent from their registry.
func (r *SimRuntime) MarkMissing(images ...string) {
	for _, img := range images {
		r.missing[img] = true
	}
}

// after schedules fn in the runtime's current life only.
func (r *SimRuntime) after(d time.Duration, fn func()) *loop.Timer {
	gen := r.gen
	return r.clock.After(d, func() {
		if gen == r.gen {
			fn()
		}
	})
}

// ImagePresent reports whether the image was pulled or preloaded.
func (r *SimRuntime) ImagePresent(image string) bool { return r.images[image] != nil }

// PullImage pulls an image: the registry latency, plus its size over the bandwidth when
// it is not on the node yet (both as slowed down by SlowPulls when the pull starts);
// concurrent pulls of one image share one pull. An image marked missing fails after the
// registry latency.
func (r *SimRuntime) PullImage(image string, done func(int64, error)) {
	waiting := r.pulling[image]
	r.pulling[image] = append(waiting, done)
	if len(waiting) > 0 {
		return
	}
	d, bandwidth := r.pullTiming()
	if !r.missing[image] && r.images[image] == nil {
		d += transferTime(r.sizeOf(image), bandwidth)
	}
	r.after(d, func() {
		var err error
		size := int64(0)
		if r.missing[image] {
			err = fmt.Errorf("rpc error: code = NotFound desc = failed to pull and unpack image %q: not found", image)
		} else {
			size = r.sizeOf(image)
			if r.images[image] == nil {
				r.images[image] = &Image{Name: image, SizeBytes: size, Since: r.clock.Now()}
			}
		}
		cbs := r.pulling[image]
		delete(r.pulling, image)
		for _, cb := range cbs {
			cb(size, err)
		}
	})
}

// Images lists the images on the node in name order, with their sizes.
func (r *SimRuntime) Images() []Image {
	out := make([]Image, 0, len(r.images))
	for name, img := range r.images {
		i := *img
		i.SizeBytes = r.sizeOf(name)
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// RemoveImage deletes an image from the node.
func (r *SimRuntime) RemoveImage(image string) { delete(r.images, image) }

// StartContainer starts the container after its startup time and schedules its exit.
func (r *SimRuntime) StartContainer(cfg ContainerConfig, started func(), exited func(Exit)) {
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(0, 0))
	}
	// Each curve draws from its own stream, so that how often usage is read does not
	// change the values.
	cpuRand := rand.New(rand.NewPCG(cfg.Rand.Uint64(), cfg.Rand.Uint64()))
	memRand := rand.New(rand.NewPCG(cfg.Rand.Uint64(), cfg.Rand.Uint64()))
	c := &simContainer{cfg: cfg, cpu: model.NewSeries(cfg.Profile.CPU, cpuRand), mem: model.NewSeries(cfg.Profile.Memory, memRand)}
	if cfg.Profile.Disk != nil {
		// Only a profile with a disk curve draws this stream, so profiles without one
		// draw exactly as before.
		c.disk = model.NewSeries(cfg.Profile.Disk, rand.New(rand.NewPCG(cfg.Rand.Uint64(), cfg.Rand.Uint64())))
	}
	if lim, ok := cfg.Container.Resources.Limits[corev1.ResourceCPU]; ok {
		c.cpuLimit = lim.MilliValue()
	}
	if lim, ok := cfg.Container.Resources.Limits[corev1.ResourceMemory]; ok {
		c.memLimit = lim.Value()
	}
	c.onExit = exited
	r.containers[cfg.ID] = c
	c.rec = r.record(cfg)
	latency := r.StartLatency
	if cfg.Profile.Startup != nil {
		latency = *cfg.Profile.Startup
	}
	c.timers = append(c.timers, r.after(latency, func() {
		c.running = true
		c.startedAt = r.clock.Now()
		c.rec.State, c.rec.StartedAt = ContainerRunning, c.startedAt
		started()
		r.scheduleExit(c, exited)
	}))
}

// scheduleExit arms the earliest of completion, crash and OOM kill.
func (r *SimRuntime) scheduleExit(c *simContainer, exited func(Exit)) {
	p := c.cfg.Profile
	var at time.Duration
	var exit Exit
	set := false
	consider := func(d time.Duration, e Exit) {
		if !set || d < at {
			at, exit, set = d, e, true
		}
	}
	if p.RunFor != nil {
		code := int32(0)
		if p.ExitCode != nil {
			code = *p.ExitCode
		}
		consider(*p.RunFor, Exit{Code: code})
	}
	if d, ok := p.CrashAfterDraw(c.cfg.Rand); ok {
		code := int32(model.DefaultCrashExitCode)
		if p.CrashExitCode != nil {
			code = *p.CrashExitCode
		}
		consider(d, Exit{Code: code})
	}
	if set {
		c.timers = append(c.timers, r.at(c, at, func() { r.exit(c, exit, exited) }))
	}
	r.armOOM(c, 0, at, set, exited)
}

// at schedules fn d after the container started, in the runtime's current life.
func (r *SimRuntime) at(c *simContainer, d time.Duration, fn func()) *loop.Timer {
	return r.after(c.startedAt.Add(d).Sub(r.clock.Now()), fn)
}

// armOOM arms the OOM kill at the moment memory reaches the limit, searching [from,
// from+OOMLookahead) and looking again after that (never past a planned exit at until).
func (r *SimRuntime) armOOM(c *simContainer, from, until time.Duration, bounded bool, exited func(Exit)) {
	if c.memLimit <= 0 || c.cfg.Profile.Memory == nil {
		return
	}
	end := from + OOMLookahead
	if bounded && until < end {
		end = until
	}
	if at, ok := c.mem.FirstAtLeast(c.memLimit, from, end); ok {
		c.timers = append(c.timers, r.at(c, at, func() { r.exit(c, Exit{Code: model.SIGKILLExitCode, OOMKilled: true}, exited) }))
		return
	}
	if bounded && end == until {
		return
	}
	c.timers = append(c.timers, r.at(c, end, func() { r.armOOM(c, end, until, bounded, exited) }))
}

func (r *SimRuntime) exit(c *simContainer, e Exit, exited func(Exit)) {
	if c.exited != nil {
		return
	}
	r.gone(c, e)
	exited(e)
}

// gone ends a container: its timers stop, it leaves the running set and its record
// becomes exited.
func (r *SimRuntime) gone(c *simContainer, e Exit) {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	c.running = false
	c.exited = &e
	if r.containers[c.cfg.ID] == c {
		delete(r.containers, c.cfg.ID)
	}
	c.rec.State, c.rec.FinishedAt, c.rec.Exit = ContainerExited, r.clock.Now(), e
}

// StopContainer delivers SIGTERM: the process exits as its profile's sigterm says (by
// default after TermLatency with code 0), or is killed (137) when the grace period ends.
// Stopping a container already being stopped waits for the same exit, brought forward to
// a SIGKILL when the new grace period ends sooner.
func (r *SimRuntime) StopContainer(id string, grace time.Duration, done func(Exit)) {
	c := r.containers[id]
	if c == nil {
		r.after(0, func() { done(Exit{Code: model.SIGKILLExitCode}) })
		return
	}
	if c.stopping {
		c.stopDone = append(c.stopDone, done)
		if r.clock.Now().Add(grace).Before(c.stopAt) {
			r.armStop(c, grace, model.SIGKILLExitCode)
		}
		return
	}
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	c.stopping, c.stopDone = true, []func(Exit){done}
	c.rec.Stopping = true
	if !c.running { // created but not started: removed at once
		r.armStop(c, 0, 0)
		return
	}
	d, code := r.TermLatency, int32(0)
	if s := c.cfg.Profile.SIGTERM; s != nil {
		if s.Ignore {
			d = grace + 1
		} else {
			d = s.After
		}
	}
	if d > grace {
		d, code = grace, model.SIGKILLExitCode
	}
	r.armStop(c, d, code)
}

// armStop (re)schedules a stopping container's end d from now with the exit code.
func (r *SimRuntime) armStop(c *simContainer, d time.Duration, code int32) {
	for _, t := range c.timers {
		t.Stop()
	}
	c.stopAt = r.clock.Now().Add(d)
	c.timers = []*loop.Timer{r.after(d, func() {
		e := Exit{Code: code}
		r.gone(c, e)
		for _, fn := range c.stopDone {
			fn(e)
		}
	})}
}

// Probe answers from the profile: startup and readiness probes succeed from readyAfter,
// readiness probes fail again from readinessFailsAfter, liveness probes fail from
// livenessFailsAfter.
func (r *SimRuntime) Probe(id string, probe ProbeType, done func(bool)) {
	c := r.containers[id]
	ok := false
	if c != nil && c.running && !c.stopping {
		elapsed := r.clock.Now().Sub(c.startedAt)
		p := c.cfg.Profile
		ready := p.ReadyAfter == nil || elapsed >= *p.ReadyAfter
		switch probe {
		case ProbeStartup:
			ok = ready
		case ProbeReadiness:
			ok = ready && (p.ReadinessFailsAfter == nil || elapsed < *p.ReadinessFailsAfter)
		case ProbeLiveness:
			ok = p.LivenessFailsAfter == nil || elapsed < *p.LivenessFailsAfter
		}
	}
	r.after(0, func() { done(ok) })
}

// Usage returns the profile's usage now, CPU throttled at the container's limit (none
// once SIGTERM was sent).
func (r *SimRuntime) Usage(id string) (Usage, bool) {
	c := r.containers[id]
	if c == nil || !c.running || c.stopping {
		return Usage{}, false
	}
	elapsed := r.clock.Now().Sub(c.startedAt)
	u := Usage{MilliCPU: c.cpu.At(elapsed), MemoryBytes: c.mem.At(elapsed)}
	if c.disk != nil {
		u.DiskBytes = c.disk.At(elapsed)
	}
	if c.cpuLimit > 0 && u.MilliCPU > c.cpuLimit {
		u.MilliCPU = c.cpuLimit
	}
	return u, true
}

// KillAll drops every container, its record and every pending callback, keeping pulled
// images (they are on the node's disk).
func (r *SimRuntime) KillAll() {
	for _, c := range r.containers {
		for _, t := range c.timers {
			t.Stop()
		}
	}
	clear(r.containers)
	clear(r.records)
	clear(r.pulling)
	r.gen++
}
