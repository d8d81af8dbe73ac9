package realmode_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/realmode"
	"github.com/orrery-sim/orrery/realmode/daemon"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// TestNothingLeftBehind starts a private containerd of its own, leaves containers running
// (and a crashed node's being killed) and checks that closing the run and the Env leaves
// no process, task, namespace, mount, cgroup or folder behind.
func TestNothingLeftBehind(t *testing.T) {
	if env == nil {
		t.Skip(skip)
	}
	t.Parallel()
	ctx := context.Background()
	own, err := realmode.Start(ctx, realmode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := loop.New(1)
	run, err := own.NewRun(l, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.NewWithLog(sim.Config{Seed: 1, Nodes: []*corev1.Node{node("n1", "2", "1Gi"), node("n2", "2", "1Gi")}, Kubelet: fastKubelet, Runtime: run.Runtime}, l, eventlog.New(l.Elapsed))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(deployment("web", 4, podSpec("cpu: 10m\nmemory: 12Mi", "", 30))); err != nil {
		t.Fatal(err)
	}
	if err := run.Pacer.RunFor(ctx, 20*time.Second, func() bool { return runningTasks(t, own.Client, run) == 4 }); err != nil {
		t.Fatal(err)
	}
	if n := runningTasks(t, own.Client, run); n != 4 {
		t.Fatalf("%d running tasks, want 4", n)
	}
	if err := c.CrashNode("n1"); err != nil {
		t.Fatal(err)
	}
	nss := run.Host.Namespaces()
	pid := strconv.Itoa(own.Daemon.PID())
	address, dir := own.Daemon.Address, own.Dir
	if err := run.Close(); err != nil {
		t.Errorf("close run: %v", err)
	}
	if err := own.Close(); err != nil {
		t.Errorf("close env: %v", err)
	}
	if _, err := os.Stat("/proc/" + pid); err == nil {
		if b, _ := os.ReadFile("/proc/" + pid + "/cmdline"); strings.Contains(string(b), address) {
			t.Errorf("containerd (pid %s) still runs", pid)
		}
	}
	if pids := daemon.Shims(address); len(pids) > 0 {
		t.Errorf("shims still running: %v", pids)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s still exists", dir)
	}
	if m := daemon.MountsUnder(dir); len(m) > 0 {
		t.Errorf("still mounted: %v", m)
	}
	if left := run.Host.Cgroups().Leftovers(run.Host.CgroupRoot()); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	for _, ns := range nss {
		if _, err := os.Stat("/run/containerd/runc/" + ns); err == nil {
			t.Errorf("runc state of %s left", ns)
		}
	}
}

// runningTasks counts the run's running tasks over its namespaces.
func runningTasks(t *testing.T, client *containerd.Client, run *realmode.Run) int {
	n := 0
	for _, ns := range run.Host.Namespaces() {
		n += nsTasks(t, client, ns)["running"]
	}
	return n
}
