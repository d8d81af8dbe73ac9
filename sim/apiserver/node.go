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
	// named is set when a rule restricts resource names, so decisions depend on them.
	named bool
	// decided memoises decisions by request (the rules never change): every kubelet
	// renews its Lease and posts its status every 10 s.
	decided map[string]Decision
}

func newNodeAuthorizer(rules []rbacv1.PolicyRule) *nodeAuthorizer {
	n := &nodeAuthorizer{rules: rules, decided: map[string]Decision{}}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 {
			n.named = true
		}
	}
	return n
}

func (n *nodeAuthorizer) Authorize(a Attributes) (Decision, string) {
	if a.User.NodeName() == "" {
		return NoOpinion, ""
	}
	key := a.Verb + "\x00" + a.APIGroup + "\x00" + a.Resource + "\x00" + a.Subresource
	if n.named {
		key += "\x00" + a.Name
	}
	if d, ok := n.decided[key]; ok {
		return d, ""
	}
	d := NoOpinion
	want := []rbacv1.PolicyRule{requestRule(a)}
	for i := range n.rules {
		if ok, _ := rbacvalidation.Covers(n.rules[i:i+1], want); ok {
			d = Allow
			break
		}
	}
	n.decided[key] = d
	return d, ""
}
