package realmode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/orrery-sim/orrery/realmode/ctrdruntime"
	"github.com/orrery-sim/orrery/realmode/daemon"
	"github.com/orrery-sim/orrery/realmode/image"
	"github.com/orrery-sim/orrery/realmode/wallclock"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Options configure an Env.
type Options struct {
	// Address is the socket of a containerd to use; empty starts a private one.
	Address string
	// Workload is a workload binary to use; empty takes the one beside the running
	// executable, or builds it from the source tree around the working directory.
	Workload string
	// Dir is where the Env's temporary folder goes (the system's when empty).
	Dir string
}

// Env is the machine side of real mode: a containerd and the workload image.
type Env struct {
	// Daemon is the private containerd (nil when Options.Address named one).
	Daemon *daemon.Daemon
	// Client is connected to the containerd.
	Client *containerd.Client
	// Image is the workload image as an OCI tarball.
	Image []byte
	// Dir holds the Env's files (the workload binary, container logs).
	Dir string
}

// Start checks the machine, starts a private containerd unless opts.Address names one,
// connects, and makes the workload image. On failure nothing is left running.
func Start(ctx context.Context, opts Options) (env *Env, err error) {
	if os.Geteuid() != 0 {
		return nil, daemon.ErrNotRoot
	}
	dir, err := os.MkdirTemp(opts.Dir, "orrery-real-")
	if err != nil {
		return nil, fmt.Errorf("real mode: %w", err)
	}
	e := &Env{Dir: dir}
	defer func() {
		if err != nil {
			_ = e.Close()
		}
	}()
	if opts.Address != "" { // a named containerd is checked before any work
		if err := daemon.CheckBinaries(); err != nil {
			return nil, fmt.Errorf("real mode: %w", err)
		}
		if e.Client, err = daemon.Connect(ctx, opts.Address); err != nil {
			return nil, fmt.Errorf("real mode: %w", err)
		}
	}
	bin, err := image.Locate(ctx, opts.Workload, dir)
	if err != nil {
		return nil, fmt.Errorf("real mode: workload: %w", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("real mode: workload: %w", err)
	}
	var tarball bytes.Buffer
	if err := image.WriteOCI(&tarball, data, image.Name); err != nil {
		return nil, fmt.Errorf("real mode: %w", err)
	}
	e.Image = tarball.Bytes()
	if e.Client == nil {
		if e.Daemon, err = daemon.Start(ctx, dir); err != nil {
			return nil, fmt.Errorf("real mode: %w", err)
		}
		if e.Client, err = daemon.Connect(ctx, e.Daemon.Address); err != nil {
			return nil, fmt.Errorf("real mode: %w", err)
		}
	}
	return e, nil
}

// Close disconnects, stops the private containerd (if any) and removes the Env's folder.
// The Env's Runs must be closed first.
func (e *Env) Close() error {
	var errs []error
	if e.Client != nil {
		if err := e.Client.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.Daemon != nil {
		if err := e.Daemon.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run is one cluster's use of an Env: the wall-clock pacer of its loop, and the
// containerd host of its nodes.
type Run struct {
	// Name prefixes the run's namespaces and is its top cgroup.
	Name string
	// Pacer runs the cluster's loop by the wall clock.
	Pacer *wallclock.Pacer
	// Host makes the nodes' runtimes.
	Host  *ctrdruntime.Host
	nodes map[string]*ctrdruntime.NodeRuntime
}

// NewRun prepares a run of loop l on the Env; name ("" for a random one) prefixes its
// namespaces.
func (e *Env) NewRun(l *loop.Loop, name string) (*Run, error) {
	if name == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		name = "orrery-" + hex.EncodeToString(b)
	}
	p := wallclock.New(l)
	h, err := ctrdruntime.NewHost(ctrdruntime.HostOptions{Client: e.Client, Run: name, Image: e.Image, ImageName: image.Name,
		LogDir: filepath.Join(e.Dir, "logs", name), Post: p.Post})
	if err != nil {
		return nil, fmt.Errorf("real mode: %w", err)
	}
	return &Run{Name: name, Pacer: p, Host: h, nodes: map[string]*ctrdruntime.NodeRuntime{}}, nil
}

// Runtime makes the containerd runtime of a node (the sim.Config.Runtime hook).
func (r *Run) Runtime(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error) {
	n, err := r.Host.NewNode(clock, cfg)
	if err != nil {
		return nil, err
	}
	r.nodes[cfg.Node.Name] = n
	return n, nil
}

// Node returns the runtime of the named node (nil if none).
func (r *Run) Node(name string) *ctrdruntime.NodeRuntime { return r.nodes[name] }

// Close kills and removes everything the run made in containerd and the cgroups.
func (r *Run) Close() error { return r.Host.Close() }
