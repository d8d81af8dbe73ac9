//go:build !linux

package main

// physicalMemory does not know the machine's RAM outside Linux.
func physicalMemory() (int64, bool) { return 0, false }
