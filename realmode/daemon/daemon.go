// Package daemon starts and stops a private containerd for real mode: its own config,
// root, state and socket in a temporary folder, the CRI plugin off, no systemd; or
// connects to an existing one. It also checks what real mode needs of the machine (root,
// the containerd and runc binaries) and says which Debian package to install.
package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// Timeouts of the daemon's life.
const (
	// StartTimeout is how long a started containerd has to answer on its socket.
	StartTimeout = 15 * time.Second
	// StopTimeout is how long containerd has to exit after SIGTERM before SIGKILL.
	StopTimeout = 10 * time.Second
	// DialTimeout bounds connecting to a socket and asking the daemon's version.
	DialTimeout = 3 * time.Second
)

// ErrNotRoot is returned by Preflight when the process is not root.
var ErrNotRoot = errors.New("real mode needs root: containerd's socket is root's and runc creates cgroups and namespaces (run as root, e.g. with sudo)")

// Binary is a program real mode runs and the Debian package that installs it.
type Binary struct {
	// Name is the program's name on PATH.
	Name string
	// Package is the Debian package that installs it.
	Package string
}

// Binaries are the programs a private containerd needs.
var Binaries = []Binary{
	{Name: "containerd", Package: "containerd"},
	{Name: "containerd-shim-runc-v2", Package: "containerd"},
	{Name: "runc", Package: "runc"},
}

// Preflight checks that real mode can run a private containerd here: root, and the
// containerd, shim and runc binaries on PATH.
func Preflight() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return CheckBinaries()
}

// CheckBinaries reports the binaries of Binaries missing from PATH and the command that
// installs them.
func CheckBinaries() error {
	var missing []string
	pkgs := map[string]bool{}
	for _, b := range Binaries {
		if _, err := exec.LookPath(b.Name); err != nil {
			missing = append(missing, b.Name)
			pkgs[b.Package] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	return fmt.Errorf("real mode needs %s on PATH: install the Debian package(s) with `apt-get install --no-install-recommends %s`",
		strings.Join(missing, ", "), strings.Join(names, " "))
}

// Daemon is a containerd process this program started, with everything under Dir.
type Daemon struct {
	// Address is the daemon's socket.
	Address string
	// Dir holds the config, root, state, socket and log.
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed
	// made are the folders under /run/containerd the daemon's runc and shims create and
	// that did not exist before it started (removed by Stop when empty).
	made []string
}

// runDirs are the folders a containerd's shims and runc use whatever its state folder.
var runDirs = []string{"/run/containerd/runc", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd"}

// Start runs a private containerd with its config, root, state, socket and log in a new
// folder under parent (the system's temporary folder when empty) and waits until it
// answers. The process is in its own process group, so a Ctrl-C on the terminal reaches
// only this program, which then cleans up and stops the daemon.
func Start(ctx context.Context, parent string) (*Daemon, error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "orrery-containerd-")
	if err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	d := &Daemon{Dir: dir, Address: filepath.Join(dir, "containerd.sock"), done: make(chan struct{})}
	for _, rd := range runDirs {
		if _, err := os.Stat(rd); errors.Is(err, os.ErrNotExist) {
			d.made = append(d.made, rd)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(Config(dir)), 0o600); err != nil {
		d.removeDir()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		d.removeDir()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	defer logf.Close()
	d.cmd = exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.removeDir()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	if err := d.waitReady(ctx); err != nil {
		_ = d.Stop()
		return nil, err
	}
	return d, nil
}

// PID returns the daemon's process ID.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Config is the private daemon's configuration: everything under dir, CRI off (it wants
// CNI and a pause image from a registry), and the opt plugin kept out of /opt.
func Config(dir string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %[3]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), filepath.Join(dir, "containerd.sock"), filepath.Join(dir, "opt"))
}

// waitReady waits for the socket to appear and the daemon to answer.
func (d *Daemon) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-d.done:
			return fmt.Errorf("containerd exited at start (%v); its log: %s", d.err, d.logTail())
		case <-ctx.Done():
			return fmt.Errorf("start containerd: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(d.Address); err != nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("containerd did not create its socket %s within %v; its log: %s", d.Address, StartTimeout, d.logTail())
			}
			continue
		}
		c, err := Connect(ctx, d.Address)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// logTail returns the last lines of the daemon's log.
func (d *Daemon) logTail() string {
	f, err := os.Open(filepath.Join(d.Dir, "containerd.log"))
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 10 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Stop sends SIGTERM to the daemon (SIGKILL after StopTimeout), waits until it is gone,
// kills any shim of it still running (a leak: reported), unmounts what is left mounted
// under its folder, removes the folder and the empty folders under /run/containerd it
// made. Containers must be gone before: they outlive containerd.
func (d *Daemon) Stop() error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(StopTimeout):
				_ = d.cmd.Process.Kill()
				<-d.done
			}
		}
	}
	if pids := Shims(d.Address); len(pids) > 0 {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("killed %d shim(s) left running: %v", len(pids), pids))
	}
	if err := d.removeDir(); err != nil {
		errs = append(errs, err)
	}
	for _, rd := range d.made {
		_ = os.Remove(rd) // only when empty: another containerd may use it now
	}
	return errors.Join(errs...)
}

// Shims returns the process IDs of the containerd shims serving the daemon at address.
func Shims(address string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-address" && args[i+1] == address {
				out = append(out, pid)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

// removeDir unmounts anything under the daemon's folder, deepest first, and removes it.
func (d *Daemon) removeDir() error {
	var errs []error
	for _, m := range MountsUnder(d.Dir) {
		if err := unmount(m); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up containerd folder: %w", err)
	}
	return nil
}

// MountsUnder returns the mount points at or under dir, deepest first.
func MountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMount undoes mountinfo's octal escapes of spaces, tabs, newlines and backslashes.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// Connect opens a client on the socket at address and checks that the daemon answers.
func Connect(ctx context.Context, address string) (*containerd.Client, error) {
	if _, err := os.Stat(address); err != nil {
		return nil, fmt.Errorf("containerd socket %s: %w (is containerd running there?)", address, err)
	}
	c, err := containerd.New(address, containerd.WithTimeout(DialTimeout))
	if err != nil {
		if os.IsPermission(errors.Unwrap(err)) || strings.Contains(err.Error(), "permission denied") {
			return nil, fmt.Errorf("connect to containerd at %s: %w (%v)", address, err, ErrNotRoot)
		}
		return nil, fmt.Errorf("containerd at %s does not answer: %w", address, err)
	}
	vctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if _, err := c.Version(vctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("containerd at %s does not answer: %w", address, err)
	}
	return c, nil
}
