package apiserver

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/store"
)

// authorize runs the authorizer chain and turns a non-allow into Kubernetes' 403.
func (s *Server) authorize(a Attributes) error {
	if d, reason := s.authz.Authorize(a); d == Allow {
		return nil
	} else {
		msg := forbiddenMessage(a)
		if reason != "" {
			msg += ": " + reason
		}
		return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, errors.New(msg))
	}
}

func attrs(u User, verb string, k *model.Kind, sub, ns, name string) Attributes {
	return Attributes{User: u, Verb: verb, APIGroup: k.GVK.Group, Resource: k.Resource, Subresource: sub, Namespace: ns, Name: name}
}

func kindOf(obj runtime.Object) (*model.Kind, error) {
	k, err := model.KindOf(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return k, nil
}

func lookupResource(resource string) (*model.Kind, error) {
	k, ok := model.LookupResource(resource)
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, "")
	}
	return k, nil
}

// setGVK stamps apiVersion and kind on an object, as the API server returns it.
func setGVK(obj runtime.Object, k *model.Kind) {
	obj.GetObjectKind().SetGroupVersionKind(k.GVK)
}

// maxGenerateNameAttempts bounds the retries of a taken generated name.
const maxGenerateNameAttempts = 8

// create is the create path after authentication.
func (s *Server) create(u User, in runtime.Object) (runtime.Object, error) {
	k, err := kindOf(in)
	if err != nil {
		return nil, err
	}
	obj := in.DeepCopyObject()
	m := accessor(obj)
	if k.Namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(metav1.NamespaceDefault)
		}
	} else {
		m.SetNamespace("")
	}
	ns := m.GetNamespace()
	generate := m.GetName() == "" && m.GetGenerateName() != ""
	var rev int64
	// A generated name that is taken is generated again, as kube-apiserver retries
	// (RetryGenerateName), up to maxGenerateNameAttempts times.
	for attempt := 0; ; attempt++ {
		if generate {
			m.SetName(m.GetGenerateName() + s.generateNameSuffix())
		}
		rev, err = s.doCreate(u, k, obj)
		if !generate || !apierrors.IsAlreadyExists(err) || attempt+1 >= maxGenerateNameAttempts {
			break
		}
	}
	name := m.GetName()
	s.record(u, "create", k, "", ns, name, rev, err)
	if err != nil {
		return nil, err
	}
	return obj.DeepCopyObject(), nil
}

func (s *Server) doCreate(u User, k *model.Kind, obj runtime.Object) (int64, error) {
	m := accessor(obj)
	ns, name := m.GetNamespace(), m.GetName()
	if err := s.authorize(attrs(u, "create", k, "", ns, name)); err != nil {
		return 0, err
	}
	setGVK(obj, k)
	model.Default(obj)
	prepareForCreate(obj)
	if err := s.admit(&admissionRequest{op: opCreate, user: u, kind: k, obj: obj}); err != nil {
		return 0, err
	}
	if errs := model.Validate(obj); len(errs) > 0 {
		return 0, apierrors.NewInvalid(k.GroupKind(), name, errs)
	}
	if err := s.validatingAdmit(&admissionRequest{op: opCreate, user: u, kind: k, obj: obj}); err != nil {
		return 0, err
	}
	m.SetUID(s.newUID())
	m.SetCreationTimestamp(s.now())
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetGeneration(1)
	rev := s.store.Rev() + 1
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if _, err := s.store.Create(storageKey(k, ns, name), obj); err != nil {
		if errors.Is(err, store.ErrKeyExists) {
			return 0, apierrors.NewAlreadyExists(k.GroupResource(), name)
		}
		return 0, apierrors.NewInternalError(err)
	}
	s.afterWrite(k)
	return rev, nil
}

// prepareForCreate resets what a client may not set on create, as each kind's strategy does.
func prepareForCreate(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: model.PodQOSClass(o)}
	case *corev1.Node, *corev1.Namespace:
		// Kubelets register nodes with their status; namespaces keep their defaulted phase.
	default:
		if st := statusField(obj); st.IsValid() {
			st.Set(reflect.Zero(st.Type()))
		}
	}
}

// statusField returns the Status field of a typed object, or an invalid value.
func statusField(obj runtime.Object) reflect.Value { return structField(obj, "Status") }

func specField(obj runtime.Object) reflect.Value { return structField(obj, "Spec") }

func metaField(obj runtime.Object) reflect.Value { return structField(obj, "ObjectMeta") }

// structField is the named field of the struct obj points to (invalid if none).
func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// unchanged reports whether an update writes nothing new. A status update carries the
// stored spec (prepareForUpdate), so its status and metadata are all that can differ.
func unchanged(sub string, obj, old runtime.Object) bool {
	if sub == "status" {
		st, ost := statusField(obj), statusField(old)
		om, oom := metaField(obj), metaField(old)
		if st.IsValid() && ost.IsValid() && om.IsValid() && oom.IsValid() {
			return equality.Semantic.DeepEqual(st.Addr().Interface(), ost.Addr().Interface()) &&
				equality.Semantic.DeepEqual(om.Addr().Interface(), oom.Addr().Interface())
		}
	}
	return equality.Semantic.DeepEqual(obj, old)
}

// afterWrite keeps derived caches in step with writes.
func (s *Server) afterWrite(k *model.Kind) {
	if k.GVK.Group == "rbac.authorization.k8s.io" {
		s.rbac.invalidate()
	}
}

// authorizedGet authorises verb on the object and returns its stored key-value (404 if
// it does not exist).
func (s *Server) authorizedGet(u User, verb string, k *model.Kind, sub, ns, name string) (store.KeyValue, error) {
	if err := s.authorize(attrs(u, verb, k, sub, ns, name)); err != nil {
		return store.KeyValue{}, err
	}
	cur, ok := s.store.Get(storageKey(k, ns, name))
	if !ok {
		return store.KeyValue{}, apierrors.NewNotFound(k.GroupResource(), name)
	}
	return cur, nil
}

// get returns a deep copy of the stored object.
func (s *Server) get(u User, resource, ns, name string) (runtime.Object, error) {
	k, err := lookupResource(resource)
	if err != nil {
		return nil, err
	}
	if !k.Namespaced {
		ns = ""
	}
	kv, err := s.authorizedGet(u, "get", k, "", ns, name)
	if err != nil {
		return nil, err
	}
	return kv.Value.(runtime.Object).DeepCopyObject(), nil
}

// update is the update path for the main resource (sub == "") or the status subresource.
func (s *Server) update(u User, in runtime.Object, sub string) (runtime.Object, error) {
	k, err := kindOf(in)
	if err != nil {
		return nil, err
	}
	m := accessor(in)
	ns, name := m.GetNamespace(), m.GetName()
	if k.Namespaced && ns == "" {
		ns = metav1.NamespaceDefault
	}
	if !k.Namespaced {
		ns = ""
	}
	out, rev, err := s.doUpdate(u, "update", k, sub, ns, name, in.DeepCopyObject())
	s.record(u, "update", k, sub, ns, name, rev, err)
	return out, err
}

// doUpdate writes obj (owned by the call) over the stored object; rev is 0 for a no-op.
// verb is what is authorised: update, or patch for a patch turned into an update.
func (s *Server) doUpdate(u User, verb string, k *model.Kind, sub, ns, name string, obj runtime.Object) (runtime.Object, int64, error) {
	if sub != "" && !(sub == "status" && k.HasStatus) {
		return nil, 0, apierrors.NewNotFound(schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource + "/" + sub}, name)
	}
	cur, err := s.authorizedGet(u, verb, k, sub, ns, name)
	if err != nil {
		return nil, 0, err
	}
	key := cur.Key
	old := cur.Value.(runtime.Object)
	m := accessor(obj)
	want, err := parseRV(m.GetResourceVersion())
	if err != nil {
		return nil, 0, err
	}
	if want != 0 && want != cur.ModRevision {
		return nil, 0, conflict(k, name)
	}
	setGVK(obj, k)
	obj = prepareForUpdate(k, sub, obj, old)
	m = accessor(obj)
	model.Default(obj)
	req := &admissionRequest{op: opUpdate, user: u, kind: k, sub: sub, obj: obj, old: old}
	if err := s.admit(req); err != nil {
		return nil, 0, err
	}
	validate := model.ValidateUpdate
	if sub == "status" {
		validate = model.ValidateStatusUpdate
	}
	if errs := validate(obj, old); len(errs) > 0 {
		return nil, 0, apierrors.NewInvalid(k.GroupKind(), name, errs)
	}
	if err := s.validatingAdmit(req); err != nil {
		return nil, 0, err
	}
	// The generation counts changes of the desired state (spec) only; a status update
	// carries the stored spec (prepareForUpdate), so it never changes it.
	if sp := specField(obj); sub != "status" && sp.IsValid() && !equality.Semantic.DeepEqual(sp.Interface(), specField(old).Interface()) {
		m.SetGeneration(accessor(old).GetGeneration() + 1)
	}
	m.SetResourceVersion(accessor(old).GetResourceVersion())
	if unchanged(sub, obj, old) {
		return old.DeepCopyObject(), 0, nil // no-op: nothing is written, no watch event
	}
	// An object being deleted whose last finalizer was just removed goes away now.
	if ts := m.GetDeletionTimestamp(); ts != nil && len(m.GetFinalizers()) == 0 && gracePeriod(m) == 0 {
		rev := s.store.Rev() + 1
		if _, err := s.store.Delete(key, cur.ModRevision); err != nil {
			return nil, 0, storeErr(k, name, err)
		}
		s.afterWrite(k)
		return obj, rev, nil
	}
	rev := s.store.Rev() + 1
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if _, err := s.store.Update(key, obj, cur.ModRevision); err != nil {
		return nil, 0, storeErr(k, name, err)
	}
	s.afterWrite(k)
	return obj.DeepCopyObject(), rev, nil
}

func gracePeriod(m metav1.Object) int64 {
	if g := m.GetDeletionGracePeriodSeconds(); g != nil {
		return *g
	}
	return 0
}

func conflict(k *model.Kind, name string) error {
	return apierrors.NewConflict(k.GroupResource(), name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

func storeErr(k *model.Kind, name string, err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict(k, name)
	case errors.Is(err, store.ErrKeyNotFound):
		return apierrors.NewNotFound(k.GroupResource(), name)
	}
	return apierrors.NewInternalError(err)
}

// prepareForUpdate keeps what the request may not change: a main-resource update cannot
// change status, a status update can change nothing but status; identity and lifecycle
// metadata always come from the stored object.
func prepareForUpdate(k *model.Kind, sub string, obj, old runtime.Object) runtime.Object {
	if sub == "status" {
		next := old.DeepCopyObject()
		statusField(next).Set(statusField(obj))
		accessor(next).SetResourceVersion(accessor(obj).GetResourceVersion())
		return next
	}
	if k.HasStatus {
		if st := statusField(obj); st.IsValid() {
			st.Set(statusField(old))
		}
	}
	m, om := accessor(obj), accessor(old)
	m.SetUID(om.GetUID())
	m.SetCreationTimestamp(om.GetCreationTimestamp())
	m.SetDeletionTimestamp(om.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
	m.SetGeneration(om.GetGeneration())
	m.SetNamespace(om.GetNamespace())
	return obj
}

// bind assigns a pod to a node through the pods/binding subresource, as the scheduler does.
func (s *Server) bind(u User, b *corev1.Binding) error {
	k, _ := model.LookupResource("pods")
	ns := b.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	rev, err := s.doBind(u, k, ns, b)
	s.record(u, "create", k, "binding", ns, b.Name, rev, err)
	return err
}

func (s *Server) doBind(u User, k *model.Kind, ns string, b *corev1.Binding) (int64, error) {
	cur, err := s.authorizedGet(u, "create", k, "binding", ns, b.Name)
	if err != nil {
		return 0, err
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return 0, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node"})})
	}
	if b.Target.Name == "" {
		return 0, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	key := cur.Key
	pod := cur.Value.(*corev1.Pod)
	gr := schema.GroupResource{Resource: "pods/binding"}
	if pod.DeletionTimestamp != nil {
		return 0, apierrors.NewConflict(gr, b.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", b.Name))
	}
	if pod.Spec.NodeName != "" {
		return 0, apierrors.NewConflict(gr, b.Name, fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
	}
	next := pod.DeepCopy()
	next.Spec.NodeName = b.Target.Name
	// The binding's annotations are merged into the pod's, as upstream's BindingREST does
	// (GPU-sharing schedulers record the devices they chose this way).
	for k, v := range b.Annotations {
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[k] = v
	}
	setCondition(&next.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: s.now()})
	rev := s.store.Rev() + 1
	next.ResourceVersion = strconv.FormatInt(rev, 10)
	if _, err := s.store.Update(key, next, cur.ModRevision); err != nil {
		return 0, storeErr(k, b.Name, err)
	}
	return rev, nil
}

func setCondition(conds *[]corev1.PodCondition, c corev1.PodCondition) {
	for i := range *conds {
		if (*conds)[i].Type == c.Type {
			if (*conds)[i].Status == c.Status {
				c.LastTransitionTime = (*conds)[i].LastTransitionTime
			}
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}
