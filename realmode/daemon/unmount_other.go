//go:build !linux

package daemon

import "syscall"

// unmount unmounts a path; containerd's mounts, and so real mode, exist on Linux only,
// where unmount detaches even a busy mount.
func unmount(path string) error { return syscall.Unmount(path, 0) }
