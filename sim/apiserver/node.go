package apiserver

import (
	rbacv1 "k8s.io/api/rbac/v1"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// nodeAuthorizer is Kubernetes' Node authorizer: kubelets (group system:nodes, user
// system:node:<name>) get the system:node rules and nothing else. Which objects a kubelet
// may touch (its own Node and Lease, pods bound to it) is then checked by the
// NodeRestriction admission plugin, which sees the objects.
type nodeAuthorizer struct {
	rules []rbacv1.PolicyRule
}

func (n nodeAuthorizer) Authorize(a Attributes) (Decision, string) {
	if a.User.NodeName() == "" {
		return NoOpinion, ""
	}
	want := []rbacv1.PolicyRule{requestRule(a)}
	for i := range n.rules {
		if ok, _ := rbacvalidation.Covers(n.rules[i:i+1], want); ok {
			return Allow, ""
		}
	}
	return NoOpinion, ""
}
