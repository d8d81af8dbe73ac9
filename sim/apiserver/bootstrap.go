package apiserver

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Namespaces a new cluster starts with.
var bootstrapNamespaces = []string{metav1.NamespaceDefault, "kube-node-lease", "kube-public", metav1.NamespaceSystem}

// NodeLeaseNamespace holds the kubelets' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

func rule(verbs []string, group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{group}, Resources: resources}
}

var (
	read      = []string{"get", "list", "watch"}
	readWrite = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

// nodeRules are the system:node role's rules, which the Node authorizer grants kubelets.
func nodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule([]string{"create", "get", "list", "watch", "update", "patch"}, "", "nodes"),
		rule([]string{"update", "patch"}, "", "nodes/status"),
		rule([]string{"get", "list", "watch", "create", "delete"}, "", "pods"),
		rule([]string{"update", "patch"}, "", "pods/status"),
		rule([]string{"create"}, "", "pods/eviction"),
		rule(read, "", "services", "endpoints", "configmaps", "secrets", "namespaces"),
		rule(read, "discovery.k8s.io", "endpointslices"),
		rule([]string{"create", "update", "patch"}, "", "events"),
		rule([]string{"get", "create", "update", "patch", "delete"}, "coordination.k8s.io", "leases"),
	}
}

// bootstrapPolicy returns the default cluster roles and their bindings, as kube-apiserver's
// bootstrap policy creates them (condensed to what Orrery's components do).
func bootstrapPolicy() []runtime.Object {
	cr := func(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}}, Rules: rules}
	}
	bind := func(name, role string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   subjects,
		}
	}
	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	group := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	all := rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}
	return []runtime.Object{
		cr("cluster-admin", all),
		cr("system:kube-scheduler",
			rule(read, "", "nodes", "pods", "namespaces", "services", "persistentvolumeclaims", "persistentvolumes", "replicationcontrollers"),
			rule([]string{"create"}, "", "pods/binding", "bindings"),
			rule([]string{"patch", "update"}, "", "pods/status"),
			rule([]string{"delete"}, "", "pods"),
			rule(read, "apps", "replicasets", "statefulsets"),
			rule(read, "policy", "poddisruptionbudgets"),
			rule(read, "scheduling.k8s.io", "priorityclasses"),
			rule([]string{"create", "update", "patch"}, "", "events"),
			rule(readWrite, "coordination.k8s.io", "leases"),
		),
		cr("system:kube-controller-manager",
			rule(readWrite, "", "pods", "nodes", "services", "endpoints", "configmaps", "secrets", "namespaces", "events"),
			rule([]string{"update", "patch"}, "", "pods/status", "nodes/status", "services/status", "namespaces/status"),
			rule([]string{"create"}, "", "pods/eviction"),
			rule(readWrite, "apps", "deployments", "replicasets", "daemonsets", "statefulsets", "controllerrevisions"),
			rule([]string{"update", "patch"}, "apps", "deployments/status", "replicasets/status", "daemonsets/status", "deployments/scale", "replicasets/scale"),
			rule(readWrite, "batch", "jobs", "cronjobs"),
			rule([]string{"update", "patch"}, "batch", "jobs/status"),
			rule(readWrite, "discovery.k8s.io", "endpointslices"),
			rule(readWrite, "policy", "poddisruptionbudgets"),
			rule([]string{"update", "patch"}, "policy", "poddisruptionbudgets/status"),
			rule(readWrite, "autoscaling", "horizontalpodautoscalers"),
			rule([]string{"update", "patch"}, "autoscaling", "horizontalpodautoscalers/status"),
			rule(readWrite, "coordination.k8s.io", "leases"),
			rule(read, "scheduling.k8s.io", "priorityclasses"),
			rule(read, "rbac.authorization.k8s.io", "roles", "rolebindings", "clusterroles", "clusterrolebindings"),
		),
		cr("system:node", nodeRules()...),
		// metrics-server's role, as its manifests install it.
		cr("system:metrics-server", rule(read, "", "pods", "nodes", "namespaces", "configmaps"), rule([]string{"get"}, "", "nodes/metrics")),
		// kube-proxy's role: it reads Services and EndpointSlices, and its Node.
		cr("system:node-proxier",
			rule([]string{"list", "watch"}, "", "services", "endpoints"),
			rule(read, "", "nodes"),
			rule([]string{"create", "update", "patch"}, "", "events"),
			rule([]string{"list", "watch"}, "discovery.k8s.io", "endpointslices"),
		),
		cr("view", rule(read, "", "pods", "services", "endpoints", "configmaps", "namespaces", "nodes"), rule(read, "apps", "deployments", "replicasets", "daemonsets"), rule(read, "batch", "jobs")),
		bind("cluster-admin", "cluster-admin", group(MastersGroup)),
		bind("system:kube-scheduler", "system:kube-scheduler", user(SchedulerUser)),
		bind("system:kube-controller-manager", "system:kube-controller-manager", user(ControllerManagerUser)),
		bind("system:metrics-server", "system:metrics-server", user(MetricsServerUser)),
		bind("system:node-proxier", "system:node-proxier", user(ProxyUser)),
		// system:node is bound to no one: the Node authorizer grants its rules.
		bind("system:node", "system:node"),
	}
}

// The system priority classes every cluster has.
func bootstrapPriorityClasses() []runtime.Object {
	pc := func(name string, value int32, desc string) *schedulingv1.PriorityClass {
		p := corev1.PreemptLowerPriority
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, Description: desc, PreemptionPolicy: &p}
	}
	return []runtime.Object{
		pc("system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
		pc("system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."),
	}
}

func bootstrapNamespaceObjects() []runtime.Object {
	var out []runtime.Object
	for _, n := range bootstrapNamespaces {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	return out
}
