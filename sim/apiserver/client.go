package apiserver

import (
	"encoding/json"
	"fmt"
	"strconv"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/store"
)

// Client makes API requests with one bearer token, as a kubeconfig user or a component's
// credentials do. Every call is authenticated and authorised.
type Client struct {
	s     *Server
	token string
	node  string // the node the requests come from ("" = the control plane's network)
}

func (c *Client) user() (User, error) {
	if err := c.s.reachable(c.node); err != nil {
		return User{}, err
	}
	u, ok := c.s.authn.authenticate(c.token)
	if !ok {
		return User{}, apierrors.NewUnauthorized("Unauthorized")
	}
	return u, nil
}

// User returns the identity the client authenticates as.
func (c *Client) User() (User, error) {
	u, ok := c.s.authn.authenticate(c.token)
	if !ok {
		return User{}, apierrors.NewUnauthorized("Unauthorized")
	}
	return u, nil
}

// Create creates obj (its namespace defaults to "default") and returns the stored object.
func (c *Client) Create(obj runtime.Object) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.s.create(u, obj)
}

// Get returns the named object.
func (c *Client) Get(resource, namespace, name string) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.s.get(u, resource, namespace, name)
}

// Update replaces the object's spec and metadata; a non-empty resourceVersion must match the
// stored one (else 409 Conflict). Status changes are ignored for kinds with a status
// subresource.
func (c *Client) Update(obj runtime.Object) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.s.update(u, obj, "")
}

// UpdateStatus replaces the object's status through the status subresource.
func (c *Client) UpdateStatus(obj runtime.Object) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.s.update(u, obj, "status")
}

// Delete deletes the named object and returns its last state. Pods on nodes are deleted
// gracefully; an object with finalizers, or deleted with the Orphan or Foreground
// propagation policy (which add the orphan or foregroundDeletion finalizer for the garbage
// collector), is only marked with a deletionTimestamp until its finalizers are removed.
func (c *Client) Delete(resource, namespace, name string, opts DeleteOptions) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	return c.s.delete(u, resource, namespace, name, opts)
}

// Bind assigns a pod to a node (the pods/binding subresource).
func (c *Client) Bind(b *corev1.Binding) error {
	u, err := c.user()
	if err != nil {
		return err
	}
	return c.s.bind(u, b)
}

// begin authenticates the client, resolves the resource and authorises verb on the whole
// collection, as list and watch need.
func (c *Client) begin(verb, resource, namespace string) (User, *model.Kind, string, error) {
	u, err := c.user()
	if err != nil {
		return User{}, nil, "", err
	}
	k, err := lookupResource(resource)
	if err != nil {
		return User{}, nil, "", err
	}
	if !k.Namespaced {
		namespace = ""
	}
	if err := c.s.authorize(attrs(u, verb, k, "", namespace, "")); err != nil {
		return User{}, nil, "", err
	}
	return u, k, namespace, nil
}

// ListResult is a list response: the items and the revision they were read at.
type ListResult struct {
	Items           []runtime.Object
	ResourceVersion int64
}

// List returns the objects of a resource in a namespace ("" for all namespaces), in name
// order. With shared set the items are the stored objects themselves, which the caller
// must not change (informers use that to avoid copying).
func (c *Client) List(resource, namespace string, f Filter, shared bool) (*ListResult, error) {
	_, k, namespace, err := c.begin("list", resource, namespace)
	if err != nil {
		return nil, err
	}
	if (f.NodeName != "" || f.Unassigned) && k.Resource != "pods" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: spec.nodeName (resource %s)", k.Resource))
	}
	res := &ListResult{ResourceVersion: c.s.store.Rev()}
	c.s.store.Range(storagePrefix(k, namespace), func(kv store.KeyValue) bool {
		obj := kv.Value.(runtime.Object)
		if f.matches(obj) {
			if !shared {
				obj = obj.DeepCopyObject()
			}
			res.Items = append(res.Items, obj)
		}
		return true
	})
	return res, nil
}

// Watch calls fn with every change to the resource in namespace ("" for all) that matches f,
// after resourceVersion (0 for changes from now on), each after the server's watch latency.
// A resourceVersion older than the last compaction fails with 410 Gone ("too old resource
// version").
func (c *Client) Watch(resource, namespace string, f Filter, resourceVersion int64, fn func(WatchEvent)) (Watch, error) {
	_, k, namespace, err := c.begin("watch", resource, namespace)
	if err != nil {
		return Watch{}, err
	}
	return c.s.addWatcher(k, namespace, c.node, f, resourceVersion, fn)
}

// Patch applies a JSON merge patch (types.MergePatchType) or a strategic merge patch
// (types.StrategicMergePatchType) to the named object or its status (subresource "status").
// The patched object is then written as an update: admission and validation apply, and a
// resourceVersion in the patch makes it conditional.
func (c *Client) Patch(resource, namespace, name string, pt types.PatchType, data []byte, subresource string) (runtime.Object, error) {
	u, err := c.user()
	if err != nil {
		return nil, err
	}
	k, err := lookupResource(resource)
	if err != nil {
		return nil, err
	}
	if !k.Namespaced {
		namespace = ""
	}
	out, rev, err := c.s.patch(u, k, namespace, name, pt, data, subresource)
	c.s.record(u, "patch", k, subresource, namespace, name, rev, err)
	return out, err
}

func (s *Server) patch(u User, k *model.Kind, ns, name string, pt types.PatchType, data []byte, sub string) (runtime.Object, int64, error) {
	cur, err := s.authorizedGet(u, "patch", k, sub, ns, name)
	if err != nil {
		return nil, 0, err
	}
	old := cur.Value.(runtime.Object)
	orig, err := json.Marshal(old)
	if err != nil {
		return nil, 0, apierrors.NewInternalError(err)
	}
	var patched []byte
	switch pt {
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(orig, data)
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(orig, data, k.New())
	default:
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("unsupported patch type %q", pt))
	}
	if err != nil {
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("the body of the request was in an unknown format: %v", err))
	}
	obj := k.New()
	if err := json.Unmarshal(patched, obj); err != nil {
		return nil, 0, apierrors.NewBadRequest(err.Error())
	}
	m := accessor(obj)
	if m.GetName() != name || m.GetNamespace() != ns {
		return nil, 0, apierrors.NewBadRequest("the name and namespace of a patched object cannot change")
	}
	// Without a resourceVersion in the patch, the patch applies to what was read.
	if m.GetResourceVersion() == "" {
		m.SetResourceVersion(strconv.FormatInt(cur.ModRevision, 10))
	}
	return s.doUpdate(u, "patch", k, sub, ns, name, obj)
}
