// Package ctrdruntime is the kubelet's Runtime on containerd: every container a simulated
// kubelet starts is a real process in a real cgroup, with real exit codes and OOM kills.
// Each simulated node is a containerd namespace holding the workload image, and a cgroup
// sized to the node's allocatable memory and CPU with its containers below it.
//
// containerd's calls block, so they run in goroutines; their outcomes come back to the
// event loop through one entry point (Host.Post, the wall-clock pacer's Post), and the
// runtime's state is only touched on the loop.
package ctrdruntime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"github.com/orrery-sim/orrery/realmode/cgroups"
)

// Snapshotter is the snapshotter containers' root filesystems come from.
const Snapshotter = "overlayfs"

// Runtime is the containerd runtime the tasks run under.
const Runtime = "io.containerd.runc.v2"

// LabelRun marks the namespaces and containers of one run.
const LabelRun = "orrery.dev/run"

// OpTimeout bounds one containerd call.
const OpTimeout = 30 * time.Second

// HostOptions configure a Host.
type HostOptions struct {
	// Client is connected to the containerd to use.
	Client *containerd.Client
	// Run names the run: it prefixes every namespace (<Run>-<node>) and is the top
	// cgroup (/<Run>), so that runs and other users of the daemon never meet.
	Run string
	// Image is the workload image as an OCI tarball (see package image).
	Image []byte
	// ImageName is the name the tarball imports as.
	ImageName string
	// LogDir receives the containers' logs, one folder per node.
	LogDir string
	// Post runs a function on the event loop, from any goroutine (wallclock.Pacer.Post).
	Post func(func())
}

// Host is one run's use of a containerd: its nodes' namespaces and cgroups, and the
// goroutines that wait on containerd.
type Host struct {
	opts    HostOptions
	cgroups *cgroups.Host
	// ctx is the calls' context; waitCtx, the tasks' waits', ends with Close.
	ctx         context.Context
	waitCtx     context.Context
	cancelWaits context.CancelFunc
	wg          sync.WaitGroup
	mu          sync.Mutex
	closing     bool
	nodes       []string // namespaces, in creation order
	stats       Stats
}

// NewHost prepares a run on the client's containerd.
func NewHost(opts HostOptions) (*Host, error) {
	if opts.Client == nil || opts.Post == nil || len(opts.Image) == 0 || opts.ImageName == "" {
		return nil, errors.New("containerd host: client, post, image and image name are required")
	}
	if opts.Run == "" || Identifier(opts.Run) != opts.Run {
		return nil, fmt.Errorf("containerd host: run name %q is not a containerd identifier", opts.Run)
	}
	cg, err := cgroups.Detect()
	if err != nil {
		return nil, fmt.Errorf("containerd host: %w", err)
	}
	waitCtx, cancel := context.WithCancel(context.Background())
	return &Host{opts: opts, cgroups: cg, ctx: context.Background(), waitCtx: waitCtx, cancelWaits: cancel}, nil
}

// Cgroups returns the machine's cgroup layout.
func (h *Host) Cgroups() *cgroups.Host { return h.cgroups }

// Stats returns the containers' lifecycle latencies so far.
func (h *Host) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats.clone()
}

// Namespaces returns the namespaces of the run's nodes, in creation order.
func (h *Host) Namespaces() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.nodes...)
}

// CgroupRoot is the run's top cgroup.
func (h *Host) CgroupRoot() string { return "/" + h.opts.Run }

// goOp runs fn in a goroutine the host waits for on Close; it reports false (and runs
// nothing) once Close has begun.
func (h *Host) goOp(fn func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn()
	}()
	return true
}

// nsContext returns a context of the namespace, bounded by OpTimeout.
func (h *Host) nsContext(ns string) (context.Context, context.CancelFunc) {
	return context.WithTimeout(namespaces.WithNamespace(h.ctx, ns), OpTimeout)
}

// Close kills and deletes every task, container, image and snapshot of the run's
// namespaces, deletes the namespaces, removes the run's cgroups and runc's state folders,
// and waits for the host's goroutines. It keeps going after errors and returns them all.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closing = true
	nss := append([]string(nil), h.nodes...)
	h.mu.Unlock()
	var errs []error
	// Let the host's goroutines finish their calls (each within OpTimeout; a call cut off
	// halfway can leave a shim behind) and end their waits, so that nothing but this
	// cleanup touches the namespaces.
	h.cancelWaits()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(OpTimeout):
		errs = append(errs, errors.New("containerd host: goroutines still busy after 30s"))
	}
	for _, ns := range nss {
		if err := h.clean(context.Background(), ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := h.cgroups.Remove(h.CgroupRoot()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// clean kills and deletes the namespace's tasks and containers, its images and leases,
// the namespace itself, and runc's state folder of it.
func (h *Host) clean(parent context.Context, ns string) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(parent, ns), OpTimeout)
	defer cancel()
	c := h.opts.Client
	var errs []error
	ctrs, err := c.Containers(ctx)
	if err != nil {
		return fmt.Errorf("clean namespace %s: %w", ns, err)
	}
	for _, ctr := range ctrs {
		// A shim that is exiting may drop the first call (ttrpc: closed): try again.
		var err error
		for try := 0; try < 3; try++ {
			if err = deleteContainer(ctx, ctr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("clean namespace %s: %w", ns, err))
		}
	}
	imgs, err := c.ImageService().List(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for i, img := range imgs {
		var opts []images.DeleteOpt
		if i == len(imgs)-1 {
			opts = append(opts, images.SynchronousDelete())
		}
		if err := c.ImageService().Delete(ctx, img.Name, opts...); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete image %s in %s: %w", img.Name, ns, err))
		}
	}
	if ls, err := c.LeasesService().List(ctx); err == nil {
		for _, l := range ls {
			_ = c.LeasesService().Delete(ctx, l)
		}
	}
	// The garbage collector removes the content and snapshots shortly after.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.NamespaceService().Delete(ctx, ns)
		if err == nil || errdefs.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns, err))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, d := range []string{"/run/containerd/runc/" + ns} {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// deleteContainer kills the container's task if it has one, deletes it, and deletes the
// container with its snapshot.
func deleteContainer(ctx context.Context, ctr containerd.Container) error {
	task, err := ctr.Task(ctx, nil)
	if err == nil {
		if st, err := task.Status(ctx); err == nil && st.Status != containerd.Stopped && st.Status != containerd.Created {
			exit, werr := task.Wait(ctx)
			if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("kill %s: %w", ctr.ID(), err)
			}
			if werr == nil {
				select {
				case <-exit:
				case <-ctx.Done():
				}
			}
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task %s: %w", ctr.ID(), err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("task of %s: %w", ctr.ID(), err)
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", ctr.ID(), err)
	}
	return nil
}

// Stats are the latencies of the containers' lifecycle phases, as measured on the wall
// clock around containerd's calls.
type Stats struct {
	// Create is NewContainer (snapshot and spec), Task NewTask (shim and runc create),
	// Start the task's start, Delete the task's and container's deletion.
	Create, Task, Start, Delete []time.Duration
	// StopToExit is from sending SIGTERM to seeing the exit.
	StopToExit []time.Duration
}

func (s Stats) clone() Stats {
	c := func(d []time.Duration) []time.Duration { return append([]time.Duration(nil), d...) }
	return Stats{Create: c(s.Create), Task: c(s.Task), Start: c(s.Start), Delete: c(s.Delete), StopToExit: c(s.StopToExit)}
}

// Median returns the middle of the durations (0 for none).
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// note records one phase's latency.
func (h *Host) note(phase *[]time.Duration, d time.Duration) {
	h.mu.Lock()
	*phase = append(*phase, d)
	h.mu.Unlock()
}

// logDir returns the folder of a namespace's container logs.
func (h *Host) logDir(ns string) string { return filepath.Join(h.opts.LogDir, ns) }
