// Package realmode runs Orrery's control plane — the same API server, scheduler,
// controllers and kubelets — against real containers: every pod's container is a process
// that containerd starts in a cgroup, following the pod's usage profile, with real exit
// codes and OOM kills. The event loop is paced by the wall clock (package wallclock) and
// containerd's answers enter it through one entry point.
//
// An Env is the machine side: a containerd (a private daemon this package starts and
// stops, or an existing one) and the workload image. A Run is one cluster on it: its
// wall-clock pacer and its nodes' namespaces and cgroups, all removed by Close. The
// fidelity comparison of a real run with its simulated twin is in package fidelity.
//
// What works on which machine is in ../shared/REALMODE-NOTES.md.
package realmode
