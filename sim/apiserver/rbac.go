package apiserver

import (
	rbacv1 "k8s.io/api/rbac/v1"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// rbacAuthorizer is Kubernetes' RBAC: the rules of every role bound to the user, cluster-wide
// or in the request's namespace, are unioned; a request is allowed if one rule covers it and
// otherwise gets no opinion (so the chain denies by default).
type rbacAuthorizer struct {
	s *Server
	// rules caches the rule set per user and namespace; it is dropped whenever an RBAC
	// object is written (generation tracks that).
	rules      map[string][]rbacv1.PolicyRule
	generation uint64
	cachedGen  uint64
}

func newRBAC(s *Server) *rbacAuthorizer {
	return &rbacAuthorizer{s: s, rules: map[string][]rbacv1.PolicyRule{}}
}

// invalidate is called on every write to an RBAC resource.
func (r *rbacAuthorizer) invalidate() { r.generation++ }

func (r *rbacAuthorizer) Authorize(a Attributes) (Decision, string) {
	rules := r.rulesFor(a.User, a.Namespace)
	want := []rbacv1.PolicyRule{requestRule(a)}
	for i := range rules {
		// A rule restricted to resource names never allows a request without a name
		// (list, watch, create), as upstream's ResourceNameMatches says.
		if len(rules[i].ResourceNames) > 0 && a.Name == "" {
			continue
		}
		if ok, _ := rbacvalidation.Covers(rules[i:i+1], want); ok {
			return Allow, ""
		}
	}
	return NoOpinion, ""
}

func (r *rbacAuthorizer) rulesFor(u User, ns string) []rbacv1.PolicyRule {
	if r.cachedGen != r.generation {
		clear(r.rules)
		r.cachedGen = r.generation
	}
	key := u.key() + "\x01" + ns
	if rules, ok := r.rules[key]; ok {
		return rules
	}
	var rules []rbacv1.PolicyRule
	r.s.rangeResource("clusterrolebindings", "", func(obj any) {
		b := obj.(*rbacv1.ClusterRoleBinding)
		if subjectsMatch(b.Subjects, u, "") {
			rules = append(rules, r.roleRules(b.RoleRef, "")...)
		}
	})
	if ns != "" {
		r.s.rangeResource("rolebindings", ns, func(obj any) {
			b := obj.(*rbacv1.RoleBinding)
			if subjectsMatch(b.Subjects, u, ns) {
				rules = append(rules, r.roleRules(b.RoleRef, ns)...)
			}
		})
	}
	r.rules[key] = rules
	return rules
}

func (r *rbacAuthorizer) roleRules(ref rbacv1.RoleRef, ns string) []rbacv1.PolicyRule {
	switch ref.Kind {
	case "ClusterRole":
		if obj, ok := r.s.getStored("clusterroles", "", ref.Name); ok {
			return obj.(*rbacv1.ClusterRole).Rules
		}
	case "Role":
		if obj, ok := r.s.getStored("roles", ns, ref.Name); ok {
			return obj.(*rbacv1.Role).Rules
		}
	}
	return nil
}

func subjectsMatch(subjects []rbacv1.Subject, u User, bindingNS string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == u.Name {
				return true
			}
		case rbacv1.GroupKind:
			if u.InGroup(s.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNS
			}
			if u.Name == "system:serviceaccount:"+ns+":"+s.Name {
				return true
			}
		}
	}
	return false
}
