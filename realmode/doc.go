// Package realmode will run a scenario's pods as real containers through containerd, behind
// the kubelet's Runtime interface, and compare the real run with its simulated twin. It is
// empty until that work lands; see ../shared/REALMODE-NOTES.md.
package realmode
