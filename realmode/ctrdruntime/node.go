package ctrdruntime

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/realmode/image"
	"github.com/orrery-sim/orrery/realmode/workload"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// StartErrorExitCode is the exit code reported for a container containerd could not
// create or start (as CRI's StartError).
const StartErrorExitCode = 128

// ProbeTimeout bounds one HTTP probe (Kubernetes' default timeoutSeconds).
const ProbeTimeout = time.Second

var (
	_ kubelet.Runtime      = (*NodeRuntime)(nil)
	_ kubelet.FaultRuntime = (*NodeRuntime)(nil)
)

// NodeRuntime is one simulated node's container runtime on containerd: a namespace with
// the workload image, and a cgroup sized to the node. Every image a pod names runs the
// workload image (nothing is ever pulled from a registry); every container is a task of
// the workload following the container's usage profile, in the host's network namespace
// on a port of its own for its probes.
type NodeRuntime struct {
	host       *Host
	clock      loop.Clock
	node       string
	ns         string
	cgroup     string
	img        containerd.Image
	imageSize  int64
	images     map[string]*kubelet.Image
	containers map[string]*ctr // created or running, by kubelet ID
	records    kubelet.ContainerRecords
	seq        uint64
	gen        uint64
	pullDelay  time.Duration
}

// ctr is one container instance.
type ctr struct {
	cfg      kubelet.ContainerConfig
	cid      string
	rec      *kubelet.RuntimeContainer
	port     int
	gen      uint64
	task     containerd.Task // set once started
	running  bool
	stopping bool
	stopDone []func(kubelet.Exit)
	stopSent time.Time
	grace    time.Duration
	killAt   time.Time
	kill     *loop.Timer
	onExit   func(kubelet.Exit)
	cpu      uint64 // CPU time at the last Usage
	cpuAt    time.Time
}

// NewNode makes the runtime of cfg.Node: its namespace (<run>-<node>) with the workload
// image imported and unpacked, and its cgroup (/<run>/<node>) limited to the node's
// allocatable memory and CPU. It blocks on containerd (a few hundred milliseconds).
func (h *Host) NewNode(clock loop.Clock, cfg kubelet.Config) (*NodeRuntime, error) {
	if cfg.Node == nil {
		return nil, fmt.Errorf("containerd runtime: no node")
	}
	name := cfg.Node.Name
	ns := Identifier(h.opts.Run, name)
	r := &NodeRuntime{host: h, clock: clock, node: name, ns: ns, cgroup: h.CgroupRoot() + "/" + Identifier(name),
		images: map[string]*kubelet.Image{}, containers: map[string]*ctr{}, records: kubelet.ContainerRecords{}}
	h.mu.Lock()
	for _, have := range h.nodes {
		if have == ns {
			h.mu.Unlock()
			return nil, fmt.Errorf("containerd runtime: node %s already has namespace %s", name, ns)
		}
	}
	h.nodes = append(h.nodes, ns)
	h.mu.Unlock()
	ctx, cancel := h.nsContext(ns)
	defer cancel()
	c := h.opts.Client
	if err := c.NamespaceService().Create(ctx, ns, map[string]string{LabelRun: h.opts.Run}); err != nil {
		return nil, fmt.Errorf("node %s: create namespace %s: %w", name, ns, err)
	}
	imgs, err := c.Import(ctx, bytes.NewReader(h.opts.Image))
	if err != nil {
		return nil, fmt.Errorf("node %s: import the workload image: %w", name, err)
	}
	if len(imgs) != 1 || imgs[0].Name != h.opts.ImageName {
		return nil, fmt.Errorf("node %s: the workload tarball imported as %d images, want one named %s", name, len(imgs), h.opts.ImageName)
	}
	r.img = containerd.NewImage(c, imgs[0])
	if err := r.img.Unpack(ctx, Snapshotter); err != nil {
		return nil, fmt.Errorf("node %s: unpack the workload image: %w", name, err)
	}
	r.imageSize = int64(len(h.opts.Image))
	alloc := cfg.Node.Status.Allocatable
	if len(alloc) == 0 {
		alloc = cfg.Node.Status.Capacity
	}
	mem, cpu := alloc[corev1.ResourceMemory], alloc[corev1.ResourceCPU]
	if err := h.cgroups.CreateNode(r.cgroup, mem.Value(), cpu.MilliValue()); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	if err := os.MkdirAll(h.logDir(ns), 0o755); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	for _, img := range cfg.Node.Status.Images {
		for _, n := range img.Names {
			r.images[n] = &kubelet.Image{Name: n, SizeBytes: img.SizeBytes, Since: clock.Now()}
		}
	}
	return r, nil
}

// Namespace returns the node's containerd namespace.
func (r *NodeRuntime) Namespace() string { return r.ns }

// Cgroup returns the node's cgroup.
func (r *NodeRuntime) Cgroup() string { return r.cgroup }

// post runs fn on the loop if the runtime is still in life gen then.
func (r *NodeRuntime) post(gen uint64, fn func()) {
	r.host.opts.Post(func() {
		if gen == r.gen {
			fn()
		}
	})
}

// soon runs fn on the loop at once (after the current callback), in this life.
func (r *NodeRuntime) soon(fn func()) {
	gen := r.gen
	r.clock.After(0, func() {
		if gen == r.gen {
			fn()
		}
	})
}

// ImagePresent reports whether the image was pulled or preloaded.
func (r *NodeRuntime) ImagePresent(name string) bool { return r.images[name] != nil }

// PullImage "pulls" any image at once (after SlowPulls' delay): every image is the
// workload image already in the node's namespace, reported with the tarball's size.
func (r *NodeRuntime) PullImage(name string, done func(int64, error)) {
	gen := r.gen
	r.clock.After(r.pullDelay, func() {
		if gen != r.gen {
			return
		}
		if r.images[name] == nil {
			r.images[name] = &kubelet.Image{Name: name, SizeBytes: r.imageSize, Since: r.clock.Now()}
		}
		done(r.images[name].SizeBytes, nil)
	})
}

// Images lists the images pulled or preloaded, in name order.
func (r *NodeRuntime) Images() []kubelet.Image {
	out := make([]kubelet.Image, 0, len(r.images))
	for _, img := range r.images {
		out = append(out, *img)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// RemoveImage forgets an image name (the workload image itself stays).
func (r *NodeRuntime) RemoveImage(name string) { delete(r.images, name) }

// StartContainer creates and starts the container's task in a goroutine; started runs on
// the loop when the task runs, exited when it ends by itself. A container containerd
// fails to create or start ends at once with StartErrorExitCode.
func (r *NodeRuntime) StartContainer(cfg kubelet.ContainerConfig, started func(), exited func(kubelet.Exit)) {
	r.seq++
	c := &ctr{cfg: cfg, cid: containerID(cfg, r.seq), gen: r.gen, onExit: exited}
	c.rec = r.record(cfg)
	r.containers[cfg.ID] = c
	port, err := freePort()
	if err != nil {
		r.soon(func() { started(); r.exited(c, kubelet.Exit{Code: StartErrorExitCode}, err) })
		return
	}
	c.port = port
	spec := WorkloadSpec(cfg, "127.0.0.1:"+strconv.Itoa(port))
	lim := LimitsOf(cfg.Container)
	gen := r.gen
	ok := r.host.goOp(func() {
		task, exitCh, err := r.run(c, spec, lim)
		r.host.opts.Post(func() {
			if gen != r.gen { // the node crashed meanwhile: this task goes too
				if err == nil {
					r.host.goOp(func() { r.sendSignal(task, syscall.SIGKILL) })
				}
				return
			}
			if err != nil {
				started()
				r.exited(c, kubelet.Exit{Code: StartErrorExitCode}, err)
				return
			}
			c.task, c.running = task, true
			c.rec.State, c.rec.StartedAt = kubelet.ContainerRunning, r.clock.Now()
			c.cpuAt = time.Now()
			started()
			if c.stopping { // stopped while starting
				r.signal(c, c.grace)
			}
		})
		if err != nil {
			return
		}
		code, oom, werr := r.wait(c, exitCh)
		if werr != nil {
			return // the host is closing
		}
		r.post(gen, func() { r.exited(c, kubelet.Exit{Code: int32(code), OOMKilled: oom}, nil) })
		r.remove(c, task)
	})
	if !ok {
		r.soon(func() { started(); r.exited(c, kubelet.Exit{Code: StartErrorExitCode}, fmt.Errorf("shutting down")) })
	}
}

// run creates and starts the task (in a goroutine), waiting for its exit from before the
// start so that no exit is missed.
func (r *NodeRuntime) run(c *ctr, spec workload.Spec, lim Limits) (containerd.Task, <-chan containerd.ExitStatus, error) {
	h := r.host
	ctx, cancel := h.nsContext(r.ns)
	defer cancel()
	opts := []oci.SpecOpts{
		oci.WithImageConfig(r.img),
		oci.WithProcessArgs(image.Entrypoint),
		oci.WithEnv([]string{workload.EnvSpec + "=" + spec.Encode()}),
		oci.WithHostNamespace(specs.NetworkNamespace),
		oci.WithHostHostsFile,
		oci.WithHostResolvconf,
		oci.WithCgroup(r.cgroup + "/" + c.cid),
		oci.WithCPUShares(lim.Shares),
	}
	if lim.MemoryBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(lim.MemoryBytes)))
	}
	if lim.QuotaMicros > 0 {
		opts = append(opts, oci.WithCPUCFS(lim.QuotaMicros, cfsPeriod))
	}
	t0 := time.Now()
	cont, err := h.opts.Client.NewContainer(ctx, c.cid,
		containerd.WithImage(r.img),
		containerd.WithSnapshotter(Snapshotter),
		containerd.WithNewSnapshot(c.cid, r.img),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(map[string]string{LabelRun: h.opts.Run, "orrery.dev/pod": c.cfg.Pod.Namespace + "/" + c.cfg.Pod.Name, "orrery.dev/container": c.cfg.Container.Name}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("create container %s: %w", c.cid, err)
	}
	t1 := time.Now()
	h.note(&h.stats.Create, t1.Sub(t0))
	task, err := cont.NewTask(ctx, cio.LogFile(filepath.Join(h.logDir(r.ns), c.cid+".log")))
	if err != nil {
		_ = cont.Delete(ctx, containerd.WithSnapshotCleanup)
		return nil, nil, fmt.Errorf("create task %s: %w", c.cid, err)
	}
	exitCh, err := task.Wait(namespaces.WithNamespace(h.waitCtx, r.ns))
	if err != nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
		_ = cont.Delete(ctx, containerd.WithSnapshotCleanup)
		return nil, nil, fmt.Errorf("wait for task %s: %w", c.cid, err)
	}
	t2 := time.Now()
	h.note(&h.stats.Task, t2.Sub(t1))
	if err := task.Start(ctx); err != nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
		_ = cont.Delete(ctx, containerd.WithSnapshotCleanup)
		return nil, nil, fmt.Errorf("start task %s: %w", c.cid, err)
	}
	h.note(&h.stats.Start, time.Since(t2))
	return task, exitCh, nil
}

// wait waits for the task's exit (in a goroutine) and tells an OOM kill by the cgroup's
// OOM-kill count, read before the task (and so its cgroup) is deleted.
func (r *NodeRuntime) wait(c *ctr, ch <-chan containerd.ExitStatus) (uint32, bool, error) {
	ctx := r.host.waitCtx
	select {
	case st := <-ch:
		if err := st.Error(); err != nil {
			return 0, false, err
		}
		code := st.ExitCode()
		oom := false
		if code == 137 {
			if u, err := r.host.cgroups.Read(r.cgroup + "/" + c.cid); err == nil {
				oom = u.OOMKills > 0
			}
		}
		return code, oom, nil
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}

// remove deletes an exited container's task and container (in a goroutine).
func (r *NodeRuntime) remove(c *ctr, task containerd.Task) {
	ctx, cancel := r.host.nsContext(r.ns)
	defer cancel()
	t0 := time.Now()
	if _, err := task.Delete(ctx); err != nil {
		return // Close cleans up what is left
	}
	if cont, err := r.host.opts.Client.LoadContainer(ctx, c.cid); err == nil {
		_ = cont.Delete(ctx, containerd.WithSnapshotCleanup)
	}
	r.host.note(&r.host.stats.Delete, time.Since(t0))
}

// exited ends a container on the loop: its record, the stop's waiters or its exited
// callback.
func (r *NodeRuntime) exited(c *ctr, e kubelet.Exit, err error) {
	if c.rec.State == kubelet.ContainerExited {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "orrery real: node %s: container %s: %v\n", r.node, c.cid, err)
	}
	c.kill.Stop()
	c.running = false
	if r.containers[c.cfg.ID] == c {
		delete(r.containers, c.cfg.ID)
	}
	c.rec.State, c.rec.FinishedAt, c.rec.Exit = kubelet.ContainerExited, r.clock.Now(), e
	if c.stopping {
		if !c.stopSent.IsZero() {
			r.host.note(&r.host.stats.StopToExit, time.Since(c.stopSent))
		}
		for _, fn := range c.stopDone {
			fn(e)
		}
		return
	}
	c.onExit(e)
}

// StopContainer sends SIGTERM to the task, then SIGKILL when the grace period ends; done
// runs when it has exited (at once, with 137, for a container not known). Stopping again
// brings the SIGKILL forward when the new grace period ends sooner.
func (r *NodeRuntime) StopContainer(id string, grace time.Duration, done func(kubelet.Exit)) {
	c := r.containers[id]
	if c == nil {
		r.soon(func() { done(kubelet.Exit{Code: model.SIGKILLExitCode}) })
		return
	}
	if c.stopping {
		c.stopDone = append(c.stopDone, done)
		if c.running && r.clock.Now().Add(grace).Before(c.killAt) {
			r.armKill(c, grace)
		}
		return
	}
	c.stopping, c.stopDone, c.grace = true, []func(kubelet.Exit){done}, grace
	c.rec.Stopping = true
	if c.running {
		r.signal(c, grace)
	}
}

// signal sends SIGTERM (SIGKILL for no grace) and arms the SIGKILL at the grace period's
// end.
func (r *NodeRuntime) signal(c *ctr, grace time.Duration) {
	c.stopSent = time.Now()
	task := c.task
	sig := syscall.SIGTERM
	if grace <= 0 {
		sig = syscall.SIGKILL
	}
	r.host.goOp(func() { r.sendSignal(task, sig) })
	if sig == syscall.SIGTERM {
		r.armKill(c, grace)
	}
}

// armKill (re)schedules the SIGKILL grace from now.
func (r *NodeRuntime) armKill(c *ctr, grace time.Duration) {
	c.kill.Stop()
	c.killAt = r.clock.Now().Add(grace)
	task := c.task
	c.kill = r.clock.After(grace, func() {
		if c.rec.State != kubelet.ContainerExited {
			r.host.goOp(func() { r.sendSignal(task, syscall.SIGKILL) })
		}
	})
}

func (r *NodeRuntime) sendSignal(task containerd.Task, sig syscall.Signal) {
	ctx, cancel := r.host.nsContext(r.ns)
	defer cancel()
	_ = task.Kill(ctx, sig) // an exited task's NotFound is fine
}

// Probe sends an HTTP GET to the container's probe path for the kind; done receives
// whether it answered 2xx within ProbeTimeout.
func (r *NodeRuntime) Probe(id string, probe kubelet.ProbeType, done func(bool)) {
	c := r.containers[id]
	if c == nil || !c.running || c.stopping {
		r.soon(func() { done(false) })
		return
	}
	path := map[kubelet.ProbeType]string{kubelet.ProbeStartup: workload.PathStartup, kubelet.ProbeReadiness: workload.PathReadiness, kubelet.ProbeLiveness: workload.PathLiveness}[probe]
	url := fmt.Sprintf("http://127.0.0.1:%d%s", c.port, path)
	gen := r.gen
	if !r.host.goOp(func() {
		ok := httpGet(r.host.ctx, url)
		r.post(gen, func() { done(ok) })
	}) {
		r.soon(func() { done(false) })
	}
}

// httpGet reports whether a GET of url answers 2xx within ProbeTimeout.
func httpGet(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Usage reads a running container's cgroup: CPU since the last read (throttled by the
// kernel at its limit) and its working set.
func (r *NodeRuntime) Usage(id string) (kubelet.Usage, bool) {
	c := r.containers[id]
	if c == nil || !c.running || c.stopping {
		return kubelet.Usage{}, false
	}
	u, err := r.host.cgroups.Read(r.cgroup + "/" + c.cid)
	if err != nil {
		return kubelet.Usage{}, false
	}
	now := time.Now()
	out := kubelet.Usage{MemoryBytes: u.WorkingSet}
	if d := now.Sub(c.cpuAt); d > 0 && u.CPUNanos >= c.cpu {
		out.MilliCPU = int64(float64(u.CPUNanos-c.cpu) / float64(d.Nanoseconds()) * 1000)
	}
	c.cpu, c.cpuAt = u.CPUNanos, now
	return out, true
}

// KillAll kills and deletes every container at once, as a node crash does; no callback
// of an earlier call runs afterwards. Images stay.
func (r *NodeRuntime) KillAll() {
	r.gen++
	ids := make([]string, 0, len(r.containers))
	for id := range r.containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := r.containers[id]
		c.kill.Stop()
		if task := c.task; task != nil {
			r.host.goOp(func() { r.sendSignal(task, syscall.SIGKILL) })
		}
	}
	clear(r.containers)
	clear(r.records)
}

// record starts the record of a new container instance, replacing its previous one.
func (r *NodeRuntime) record(cfg kubelet.ContainerConfig) *kubelet.RuntimeContainer {
	return r.records.Record(cfg)
}

// Containers lists the latest instance of every container, by pod UID and name.
func (r *NodeRuntime) Containers() []kubelet.RuntimeContainer { return r.records.List() }

// RemovePod forgets a pod's container records.
func (r *NodeRuntime) RemovePod(uid types.UID) { delete(r.records, uid) }

// CrashContainer makes a running container's process exit now with the code (through its
// HTTP crash endpoint); the exit reaches the kubelet like any other.
func (r *NodeRuntime) CrashContainer(id string, code int32) error {
	c := r.containers[id]
	if c == nil || !c.running || c.stopping {
		return fmt.Errorf("container %s is not running", id)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d%s?code=%d", c.port, workload.PathCrash, code)
	r.host.goOp(func() { httpGet(r.host.ctx, url) })
	return nil
}

// SlowPulls delays pulls that start from now on by latency until restore is called (the
// bandwidth does not apply: nothing is downloaded).
func (r *NodeRuntime) SlowPulls(latency time.Duration, _ int64) (restore func()) {
	r.pullDelay += latency
	return func() { r.pullDelay -= latency }
}

// freePort returns a loopback TCP port free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
