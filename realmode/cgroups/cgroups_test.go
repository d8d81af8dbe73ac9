package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	h, err := Detect()
	if err != nil {
		t.Skip(err)
	}
	top := fmt.Sprintf("/orrery-cgtest-%d", os.Getpid())
	node := top + "/node-1"
	t.Cleanup(func() { _ = h.Remove(top) })
	if err := h.CreateNode(node, 64<<20, 1500); err != nil {
		t.Fatal(err)
	}
	limit, quota := "memory.limit_in_bytes", "cpu.cfs_quota_us"
	memDir, cpuDir := h.dir("memory", node), h.dir("cpu", node)
	if h.V2 {
		limit, quota = "memory.max", "cpu.max"
	}
	for _, c := range []struct{ dir, file, want string }{{memDir, limit, "67108864"}, {cpuDir, quota, "150000"}} {
		b, err := os.ReadFile(filepath.Join(c.dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(b))[0]; got != c.want {
			t.Errorf("%s = %s, want %s", c.file, got, c.want)
		}
	}
	// A child as runc makes it, in a hierarchy CreateNode did not touch (v1).
	if !h.V2 {
		if err := os.MkdirAll(filepath.Join(h.Controllers["pids"], node, "c1"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Read(node); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(h.Leftovers(top)) == 0 {
		t.Fatal("Leftovers finds nothing of a cgroup that exists")
	}
	if err := h.Remove(top); err != nil {
		t.Fatal(err)
	}
	if left := h.Leftovers(top); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}
