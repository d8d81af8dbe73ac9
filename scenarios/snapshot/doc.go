// Package snapshot imports a running cluster's state, as `kubectl get
// nodes,pods,deployments,statefulsets,daemonsets,replicasets,services,configmaps,jobs,poddisruptionbudgets,priorityclasses
// -A -o yaml` prints it (a kind: List), so that a scenario can start from an SRE's own
// cluster. Nodes keep their capacity, allocatable, labels, taints, conditions and
// unschedulable flag; workload objects keep their spec and lose what the API server and
// the controllers own (status, uid, resourceVersion, managedFields, timestamps, objects a
// controller recreates). Kinds Orrery does not simulate are skipped with a warning.
// README.md beside this file documents every rule.
package snapshot
