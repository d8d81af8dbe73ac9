package apiserver

import (
	"strings"
)

// User is an authenticated identity: a name and the groups it belongs to.
type User struct {
	Name   string
	Groups []string
}

// Well-known identities and groups, named as Kubernetes names them.
const (
	// AdminUser is the cluster administrator that applies a scenario's manifests.
	AdminUser = "system:admin"
	// MastersGroup is bound to cluster-admin by the bootstrap policy.
	MastersGroup = "system:masters"
	// SchedulerUser is kube-scheduler's identity.
	SchedulerUser = "system:kube-scheduler"
	// ControllerManagerUser is kube-controller-manager's identity.
	ControllerManagerUser = "system:kube-controller-manager"
	// MetricsServerUser is metrics-server's identity (its service account upstream).
	MetricsServerUser = "system:serviceaccount:kube-system:metrics-server"
	// ProxyUser is kube-proxy's identity, bound to the system:node-proxier role.
	ProxyUser = "system:kube-proxy"
	// NodesGroup holds every kubelet identity.
	NodesGroup = "system:nodes"
	// NodeUserPrefix prefixes a kubelet's user name: system:node:<node name>.
	NodeUserPrefix = "system:node:"
	// AuthenticatedGroup is added to every authenticated user.
	AuthenticatedGroup = "system:authenticated"
)

// NodeUser returns the identity of the kubelet of the named node.
func NodeUser(node string) User {
	return User{Name: NodeUserPrefix + node, Groups: []string{NodesGroup}}
}

// NodeName returns the node a kubelet identity belongs to, or "" if u is not a kubelet.
func (u User) NodeName() string {
	if !strings.HasPrefix(u.Name, NodeUserPrefix) || !u.InGroup(NodesGroup) {
		return ""
	}
	return strings.TrimPrefix(u.Name, NodeUserPrefix)
}

// InGroup reports whether the user belongs to group g.
func (u User) InGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// key identifies the user and its groups in caches.
func (u User) key() string { return u.Name + "\x00" + strings.Join(u.Groups, "\x00") }

// authenticator maps bearer tokens to users, as a static token file does.
type authenticator struct {
	tokens map[string]User
}

func (a *authenticator) authenticate(token string) (User, bool) {
	u, ok := a.tokens[token]
	return u, ok
}
