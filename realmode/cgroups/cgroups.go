// Package cgroups makes and removes the control groups real mode puts its nodes in, and
// reads containers' usage from them. A simulated node is a cgroup sized to the node's
// allocatable memory and CPU, with its containers below it, so node pressure is real. It
// knows cgroup v1 (separate hierarchies per controller, as on hybrid hosts) and v2 (one
// unified hierarchy).
package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CFSPeriod is the CPU bandwidth period node cgroups use, in microseconds (the kernel's
// default).
const CFSPeriod = 100000

// Host is the machine's cgroup layout.
type Host struct {
	// V2 is set on a unified (cgroup v2) host.
	V2 bool
	// Root is the v2 hierarchy's mount point.
	Root string
	// Controllers maps each v1 controller to its hierarchy's mount point.
	Controllers map[string]string
	// mounts are every cgroup hierarchy's mount point, sorted.
	mounts []string
}

// Detect reads the cgroup layout from /proc/self/mountinfo: v2 when /sys/fs/cgroup is a
// cgroup2 mount, v1 otherwise (with its controllers' hierarchies).
func Detect() (*Host, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read cgroup mounts: %w", err)
	}
	h := &Host{Controllers: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mp, fstype := f[4], g[0]
		switch fstype {
		case "cgroup2":
			h.mounts = append(h.mounts, mp)
			if mp == "/sys/fs/cgroup" {
				h.V2, h.Root = true, mp
			}
		case "cgroup":
			h.mounts = append(h.mounts, mp)
			for _, opt := range strings.Split(g[2], ",") {
				switch opt {
				case "cpu", "cpuacct", "memory", "cpuset", "pids", "devices", "freezer", "blkio":
					h.Controllers[opt] = mp
				}
			}
		}
	}
	sort.Strings(h.mounts)
	if !h.V2 && (h.Controllers["memory"] == "" || h.Controllers["cpu"] == "") {
		return nil, errors.New("no cgroup v2 hierarchy at /sys/fs/cgroup and no cgroup v1 memory and cpu controllers mounted")
	}
	return h, nil
}

// dir returns the folder of cgroup path for a v1 controller (ignored on v2).
func (h *Host) dir(controller, path string) string {
	if h.V2 {
		return filepath.Join(h.Root, path)
	}
	return filepath.Join(h.Controllers[controller], path)
}

// CreateNode makes the cgroup at path (e.g. /orrery-<run>/<node>) with a memory limit in
// bytes and a CPU limit in millicores (0: none), creating its parents.
func (h *Host) CreateNode(path string, memoryBytes, milliCPU int64) error {
	if h.V2 {
		return h.createV2(path, memoryBytes, milliCPU)
	}
	for _, c := range []string{"memory", "cpu", "cpuacct"} {
		if err := os.MkdirAll(h.dir(c, path), 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", path, err)
		}
	}
	if memoryBytes > 0 {
		if err := write(h.dir("memory", path), "memory.limit_in_bytes", strconv.FormatInt(memoryBytes, 10)); err != nil {
			return err
		}
	}
	if milliCPU > 0 {
		if err := write(h.dir("cpu", path), "cpu.cfs_period_us", strconv.Itoa(CFSPeriod)); err != nil {
			return err
		}
		if err := write(h.dir("cpu", path), "cpu.cfs_quota_us", strconv.FormatInt(milliCPU*CFSPeriod/1000, 10)); err != nil {
			return err
		}
	}
	return nil
}

// createV2 makes a v2 cgroup with the memory and cpu controllers enabled down to it and
// for its children.
func (h *Host) createV2(path string, memoryBytes, milliCPU int64) error {
	if err := os.MkdirAll(h.dir("", path), 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", path, err)
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	d := h.Root
	for _, p := range append([]string{""}, parts...) {
		d = filepath.Join(d, p)
		if err := write(d, "cgroup.subtree_control", "+memory +cpu"); err != nil {
			return err
		}
	}
	if memoryBytes > 0 {
		if err := write(h.dir("", path), "memory.max", strconv.FormatInt(memoryBytes, 10)); err != nil {
			return err
		}
	}
	if milliCPU > 0 {
		if err := write(h.dir("", path), "cpu.max", fmt.Sprintf("%d %d", milliCPU*CFSPeriod/1000, CFSPeriod)); err != nil {
			return err
		}
	}
	return nil
}

func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: %w", filepath.Join(dir, file), err)
	}
	return nil
}

// Remove removes the cgroup at path and every cgroup below it in every hierarchy, deepest
// first, retrying for a second while their last processes exit.
func (h *Host) Remove(path string) error {
	var errs []error
	for _, mnt := range h.mounts {
		top := filepath.Join(mnt, path)
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := rmdir(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", path, err)
	}
	return nil
}

// rmdir removes an empty cgroup, retrying while it is busy.
func rmdir(d string) error {
	deadline := time.Now().Add(time.Second)
	for {
		err := syscall.Rmdir(d)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("rmdir %s: %w", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leftovers lists the folders of the cgroup at path that exist in any hierarchy.
func (h *Host) Leftovers(path string) []string {
	var out []string
	for _, mnt := range h.mounts {
		if _, err := os.Stat(filepath.Join(mnt, path)); err == nil {
			out = append(out, filepath.Join(mnt, path))
		}
	}
	return out
}

// Usage is a cgroup's usage at one instant.
type Usage struct {
	// CPUNanos is the CPU time used since the cgroup was made.
	CPUNanos uint64
	// WorkingSet is memory in use less inactive file pages, as the kubelet counts it.
	WorkingSet int64
	// OOMKills counts the processes the kernel killed for the cgroup's memory limit.
	OOMKills uint64
}

// Read returns the usage of the cgroup at path.
func (h *Host) Read(path string) (Usage, error) {
	var u Usage
	var usage, inactive int64
	var err error
	if h.V2 {
		stat, err := readKeyed(h.dir("", path), "cpu.stat")
		if err != nil {
			return u, err
		}
		u.CPUNanos = uint64(stat["usage_usec"]) * 1000
		if usage, err = readInt(h.dir("", path), "memory.current"); err != nil {
			return u, err
		}
		mem, err := readKeyed(h.dir("", path), "memory.stat")
		if err != nil {
			return u, err
		}
		inactive = mem["inactive_file"]
		ev, err := readKeyed(h.dir("", path), "memory.events")
		if err != nil {
			return u, err
		}
		u.OOMKills = uint64(ev["oom_kill"])
	} else {
		cpu, err := readInt(h.dir("cpuacct", path), "cpuacct.usage")
		if err != nil {
			return u, err
		}
		u.CPUNanos = uint64(cpu)
		if usage, err = readInt(h.dir("memory", path), "memory.usage_in_bytes"); err != nil {
			return u, err
		}
		mem, err := readKeyed(h.dir("memory", path), "memory.stat")
		if err != nil {
			return u, err
		}
		inactive = mem["total_inactive_file"]
		oom, err := readKeyed(h.dir("memory", path), "memory.oom_control")
		if err != nil {
			return u, err
		}
		u.OOMKills = uint64(oom["oom_kill"])
	}
	u.WorkingSet = max(usage-inactive, 0)
	return u, err
}

func readInt(dir, file string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, fmt.Errorf("read cgroup: %w", err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read cgroup %s: %w", filepath.Join(dir, file), err)
	}
	return v, nil
}

// readKeyed reads a file of "key value" lines.
func readKeyed(dir, file string) (map[string]int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("read cgroup: %w", err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
