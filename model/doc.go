// Package model holds Orrery's view of the Kubernetes API: the kind registry over
// k8s.io/api's own types, a YAML decoder whose errors carry file, document and line,
// and the defaulting and validation the API server applies on create and update.
package model

// KubernetesVersion is the upstream release whose behaviour Orrery follows.
const KubernetesVersion = "1.34"
