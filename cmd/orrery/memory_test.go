package main

import (
	"runtime"
	"testing"
)

// TestPhysicalMemory: on Linux the machine's RAM is known and plausible (over 256 MiB).
func TestPhysicalMemory(t *testing.T) {
	ram, ok := physicalMemory()
	if runtime.GOOS != "linux" {
		if ok {
			t.Errorf("physicalMemory() = %d, true outside Linux", ram)
		}
		return
	}
	if !ok || ram < 256<<20 {
		t.Errorf("physicalMemory() = %d, %v", ram, ok)
	}
}
