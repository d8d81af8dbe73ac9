package daemon

import "syscall"

// unmount detaches a mount now, even if busy (umount -l).
func unmount(path string) error { return syscall.Unmount(path, syscall.MNT_DETACH) }
