package apiserver

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Attributes describe one request for authorisation, as Kubernetes' authorizer sees it.
type Attributes struct {
	User        User
	Verb        string
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
}

// Decision is an authorizer's answer.
type Decision int

// The three answers an authorizer may give; the chain stops at the first Allow or Deny.
const (
	NoOpinion Decision = iota
	Allow
	Deny
)

// Authorizer decides one request; reason explains a denial or no-opinion.
type Authorizer interface {
	Authorize(a Attributes) (d Decision, reason string)
}

// privilegedGroups allows every request of members of system:masters, as kube-apiserver
// does before consulting Node and RBAC.
type privilegedGroups struct{}

func (privilegedGroups) Authorize(a Attributes) (Decision, string) {
	if a.User.InGroup(MastersGroup) {
		return Allow, ""
	}
	return NoOpinion, ""
}

// chain asks each authorizer in turn, as --authorization-mode=Node,RBAC does.
type chain []Authorizer

func (c chain) Authorize(a Attributes) (Decision, string) {
	var reasons []string
	for _, z := range c {
		d, r := z.Authorize(a)
		if d != NoOpinion {
			return d, r
		}
		if r != "" {
			reasons = append(reasons, r)
		}
	}
	return NoOpinion, strings.Join(reasons, ", ")
}

// forbiddenMessage is the text Kubernetes puts after `<resource> "<name>" is forbidden: `.
func forbiddenMessage(a Attributes) string {
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", a.User.Name, a.Verb, res, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", a.User.Name, a.Verb, res, a.APIGroup)
}

// requestRule is the request expressed as the single policy rule it needs.
func requestRule(a Attributes) rbacv1.PolicyRule {
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	r := rbacv1.PolicyRule{Verbs: []string{a.Verb}, APIGroups: []string{a.APIGroup}, Resources: []string{res}}
	if a.Name != "" {
		r.ResourceNames = []string{a.Name}
	}
	return r
}
