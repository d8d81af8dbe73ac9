// Package extender is kube-scheduler's HTTP scheduler extender: a policy written in any
// language, run as an HTTP service, that the scheduler asks to filter and prioritize the
// nodes a pod may go to and, optionally, to bind it. The wire format is upstream's
// (k8s.io/kube-scheduler/extender/v1: ExtenderArgs, ExtenderFilterResult, HostPriorityList,
// ExtenderBindingArgs, ExtenderBindingResult), so an extender written for a real cluster
// works unchanged.
//
// As in upstream's schedule_one.go, a scheduling cycle calls the extenders after its Filter
// plugins, once per extender with every feasible node (FindNodesThatPassExtenders), then
// adds their scaled scores to the plugins' weighted sum (PrioritizeNodes), and lets the
// first interested binder bind the pod instead of the Bind plugins (Binder).
//
// Determinism: an extender is outside the simulation. Its calls are synchronous, made from
// the cycle itself with no goroutine of Orrery's, and take no virtual time; what Orrery
// sends is a deterministic function of the cluster state (nodes in the order given, JSON
// with sorted map keys). But a run's results — and its event-log hash — depend on the
// extender's answers: the same seed replays the same run only if the extender answers the
// same requests the same way. An extender that times out (HTTPTimeout is wall-clock time)
// or fails makes the run depend on the host's load. Use a Transport other than HTTP (a
// TransportFunc in Go, or answers recorded from an earlier run) to keep a run reproducible.
package extender
