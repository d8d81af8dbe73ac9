// Package apiserver is Orrery's Kubernetes API server: every read and write of cluster state
// goes through it, under an authenticated identity, as in a real cluster.
//
// A request is authenticated (bearer token to user), authorised (the Node authorizer, then
// RBAC: additive, default deny), defaulted, admitted (namespace lifecycle, priority,
// default toleration seconds, node restriction), validated, and written to the store with
// optimistic concurrency on resourceVersion. Failures carry Kubernetes' status codes and
// messages: 401, 403, 404, 409, 410, 422. Watches fan out store events to clients after a
// configurable delivery latency, in revision order.
//
// Objects handed to the store are never mutated again; clients get deep copies, except
// informers, which ask for shared objects and must treat them as read-only, as client-go's
// caches do.
package apiserver
