package apiserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

func newServer(t testing.TB) (*Server, *loop.Loop, *Client) {
	t.Helper()
	l := loop.New(1)
	s, err := New(l, eventlog.New(l.Elapsed), Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.ClientFor(User{Name: AdminUser, Groups: []string{MastersGroup}})
	return s, l, admin
}

func pod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: "web", Image: "nginx:1.27",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
		}}},
	}
}

func code(err error) int32 {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Code
	}
	return -1
}

func TestStatusCodes(t *testing.T) {
	s, _, admin := newServer(t)
	if _, err := admin.Create(pod("default", "a", "")); err != nil {
		t.Fatal(err)
	}
	stale, _ := admin.Get("pods", "default", "a")
	fresh := stale.(*corev1.Pod).DeepCopy()
	fresh.Labels["v"] = "2"
	if _, err := admin.Update(fresh); err != nil {
		t.Fatal(err)
	}
	stalePod := stale.(*corev1.Pod).DeepCopy()
	stalePod.Labels["v"] = "3"
	bad := pod("default", "Bad_Name", "")
	tests := []struct {
		name string
		err  error
		code int32
		msg  string
	}{
		{"exists", func() error { _, err := admin.Create(pod("default", "a", "")); return err }(), 409, `pods "a" already exists`},
		{"conflict", func() error { _, err := admin.Update(stalePod); return err }(), 409, `Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again`},
		{"not found", func() error { _, err := admin.Get("pods", "default", "nope"); return err }(), 404, `pods "nope" not found`},
		{"namespace missing", func() error { _, err := admin.Create(pod("nowhere", "a", "")); return err }(), 404, `namespaces "nowhere" not found`},
		{"invalid", func() error { _, err := admin.Create(bad); return err }(), 422, `Pod "Bad_Name" is invalid`},
		{"unauthenticated", func() error { _, err := s.Client("bogus").Get("pods", "default", "a"); return err }(), 401, "Unauthorized"},
		{"forbidden", func() error {
			_, err := s.ClientFor(User{Name: "alice"}).Get("pods", "default", "a")
			return err
		}(), 403, `pods "a" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"`},
		{"unknown priority class", func() error {
			p := pod("default", "p", "")
			p.Spec.PriorityClassName = "gold"
			_, err := admin.Create(p)
			return err
		}(), 403, `no PriorityClass with name gold was found`},
	}
	for _, tt := range tests {
		if got := code(tt.err); got != tt.code {
			t.Errorf("%s: code %d, want %d (err %v)", tt.name, got, tt.code, tt.err)
			continue
		}
		if !strings.Contains(tt.err.Error(), tt.msg) {
			t.Errorf("%s: message %q does not contain %q", tt.name, tt.err.Error(), tt.msg)
		}
	}
}

func TestAdmissionDefaults(t *testing.T) {
	_, _, admin := newServer(t)
	obj, err := admin.Create(pod("default", "a", ""))
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*corev1.Pod)
	if p.Spec.Priority == nil || *p.Spec.Priority != 0 || p.Spec.ServiceAccountName != "default" {
		t.Errorf("priority %v, service account %q", p.Spec.Priority, p.Spec.ServiceAccountName)
	}
	var seen []string
	for _, tol := range p.Spec.Tolerations {
		if tol.Effect == corev1.TaintEffectNoExecute && tol.TolerationSeconds != nil && *tol.TolerationSeconds == 300 {
			seen = append(seen, tol.Key)
		}
	}
	if strings.Join(seen, ",") != TaintNodeNotReady+","+TaintNodeUnreachable {
		t.Errorf("default tolerations: %v", seen)
	}
	if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBurstable || p.UID == "" || p.ResourceVersion == "" || p.Generation != 1 {
		t.Errorf("create did not set phase/qos/uid/rv/generation: %+v %s %s", p.Status, p.UID, p.ResourceVersion)
	}
}

func TestRBAC(t *testing.T) {
	s, _, admin := newServer(t)
	if _, err := admin.Create(pod("default", "a", "")); err != nil {
		t.Fatal(err)
	}
	bob := s.ClientFor(User{Name: "bob"})
	if _, err := bob.List("pods", "default", Filter{}, false); code(err) != 403 {
		t.Fatalf("bob without a binding: %v, want 403", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pod-reader"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bob-reads"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}}
	if _, err := admin.Create(role); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(binding); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.List("pods", "default", Filter{}, false); err != nil {
		t.Errorf("bob with a binding cannot list: %v", err)
	}
	if _, err := bob.Get("pods", "default", "a"); err != nil {
		t.Errorf("bob with a binding cannot get: %v", err)
	}
	if _, err := bob.Delete("pods", "default", "a", DeleteOptions{}); code(err) != 403 {
		t.Errorf("bob may not delete: %v", err)
	}
	if _, err := bob.List("pods", "kube-system", Filter{}, false); code(err) != 403 {
		t.Errorf("the Role is namespaced; kube-system must be denied: %v", err)
	}
	// Removing the binding takes the right away (the rule cache is invalidated).
	if _, err := admin.Delete("rolebindings", "default", "bob-reads", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.List("pods", "default", Filter{}, false); code(err) != 403 {
		t.Errorf("after unbinding: %v, want 403", err)
	}
	// Resource names restrict get but never allow list.
	named := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "one-pod"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"a"}}}}
	cb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "carol"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "one-pod"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "readers"}}}
	if _, err := admin.Create(named); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(cb); err != nil {
		t.Fatal(err)
	}
	carol := s.ClientFor(User{Name: "carol", Groups: []string{"readers"}})
	if _, err := carol.Get("pods", "default", "a"); err != nil {
		t.Errorf("carol may get pod a through her group: %v", err)
	}
	if _, err := carol.List("pods", "default", Filter{}, false); code(err) != 403 {
		t.Errorf("resourceNames must not allow list: %v", err)
	}
}

func TestNodeRestriction(t *testing.T) {
	s, _, admin := newServer(t)
	for _, n := range []string{"n1", "n2"} {
		if _, err := admin.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Create(pod("default", "on-n1", "n1")); err != nil {
		t.Fatal(err)
	}
	n1, n2 := s.ClientFor(NodeUser("n1")), s.ClientFor(NodeUser("n2"))
	obj, _ := n1.Get("pods", "default", "on-n1")
	p := obj.(*corev1.Pod).DeepCopy()
	p.Status.Phase = corev1.PodRunning
	_, err := n2.UpdateStatus(p)
	if code(err) != 403 || !strings.Contains(err.Error(), `node "n2" can only update pod status for pods with spec.nodeName set to itself`) {
		t.Errorf("n2 updating n1's pod status: %v", err)
	}
	if _, err := n1.UpdateStatus(p); err != nil {
		t.Errorf("n1 updating its own pod status: %v", err)
	}
	if _, err := n2.Delete("pods", "default", "on-n1", DeleteOptions{}); code(err) != 403 {
		t.Errorf("n2 deleting n1's pod: %v", err)
	}
	other, _ := n2.Get("nodes", "", "n1")
	if _, err := n2.UpdateStatus(other); code(err) != 403 {
		t.Errorf("n2 updating node n1: %v", err)
	}
	pp := p.DeepCopy()
	pp.Spec.ActiveDeadlineSeconds = new(int64)
	if _, err := n1.Update(pp); code(err) != 403 {
		t.Errorf("a kubelet may not update a pod's spec: %v", err)
	}
	if _, err := n1.Create(pod("default", "x", "n1")); code(err) != 403 {
		t.Errorf("a kubelet may only create mirror pods: %v", err)
	}
}

func TestGracefulDeletion(t *testing.T) {
	_, l, admin := newServer(t)
	if _, err := admin.Create(pod("default", "bound", "n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(pod("default", "pending", "")); err != nil {
		t.Fatal(err)
	}
	l.RunFor(10 * time.Second)
	obj, err := admin.Delete("pods", "default", "bound", DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 30 || !p.DeletionTimestamp.Time.Equal(l.Now().Add(30*time.Second)) {
		t.Fatalf("a bound pod must be marked for deletion with 30 s grace: %v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	if _, err := admin.Get("pods", "default", "bound"); err != nil {
		t.Fatalf("the pod must stay while terminating: %v", err)
	}
	// Updates cannot clear the deletion timestamp.
	p2 := p.DeepCopy()
	p2.DeletionTimestamp = nil
	out, err := admin.Update(p2)
	if err != nil || out.(*corev1.Pod).DeletionTimestamp == nil {
		t.Fatalf("update cleared the deletion timestamp: %v", err)
	}
	zero := int64(0)
	if _, err := admin.Delete("pods", "default", "bound", DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Get("pods", "default", "bound"); code(err) != 404 {
		t.Fatalf("grace 0 must remove the pod: %v", err)
	}
	if _, err := admin.Delete("pods", "default", "pending", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Get("pods", "default", "pending"); code(err) != 404 {
		t.Fatalf("an unscheduled pod is deleted at once: %v", err)
	}
	// Finalizers hold an object until they are removed.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "held", Finalizers: []string{"example.com/hold"}}}
	if _, err := admin.Create(cm); err != nil {
		t.Fatal(err)
	}
	obj, err = admin.Delete("configmaps", "default", "held", DeleteOptions{})
	if err != nil || obj.(*corev1.ConfigMap).DeletionTimestamp == nil {
		t.Fatalf("finalized object: %v", err)
	}
	held := obj.(*corev1.ConfigMap).DeepCopy()
	held.Finalizers = nil
	if _, err := admin.Update(held); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Get("configmaps", "default", "held"); code(err) != 404 {
		t.Fatalf("removing the last finalizer must delete: %v", err)
	}
}

func TestBindAndPatch(t *testing.T) {
	s, _, admin := newServer(t)
	if _, err := admin.Create(pod("default", "a", "")); err != nil {
		t.Fatal(err)
	}
	sched := s.ClientFor(User{Name: SchedulerUser})
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a", Annotations: map[string]string{"example.com/device": "2"}}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := sched.Bind(b); err != nil {
		t.Fatal(err)
	}
	if err := sched.Bind(b); code(err) != 409 {
		t.Fatalf("second bind: %v, want 409", err)
	}
	// The binding's annotations are merged into the pod's.
	if obj, err := admin.Get("pods", "default", "a"); err != nil || obj.(*corev1.Pod).Annotations["example.com/device"] != "2" {
		t.Fatalf("bound pod's annotations: %v", err)
	}
	obj, err := admin.Patch("pods", "default", "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"front"}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*corev1.Pod)
	if p.Labels["tier"] != "front" || p.Labels["app"] != "web" || p.Spec.NodeName != "n1" {
		t.Fatalf("merge patch result: labels %v node %q", p.Labels, p.Spec.NodeName)
	}
	obj, err = admin.Patch("pods", "default", "a", types.StrategicMergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`), "")
	if err != nil || obj.(*corev1.Pod).Annotations["a"] != "b" {
		t.Fatalf("strategic patch: %v", err)
	}
	if _, err := admin.Patch("pods", "default", "a", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"1"}}`), ""); code(err) != 409 {
		t.Fatalf("patch with a stale resourceVersion: %v, want 409", err)
	}
}

func TestWatch(t *testing.T) {
	s, l, admin := newServer(t)
	var got []string
	n1 := s.ClientFor(NodeUser("n1"))
	if _, err := n1.Watch("pods", "", Filter{NodeName: "n1"}, 0, func(ev WatchEvent) {
		got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Object.(*corev1.Pod).Name))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(pod("default", "a", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(pod("default", "other", "n2")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatal("watch events must arrive after the watch latency, not inside the write")
	}
	sched := s.ClientFor(User{Name: SchedulerUser})
	if err := sched.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if _, err := admin.Delete("pods", "default", "a", DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	l.RunFor(time.Second)
	want := []string{"ADDED a", "DELETED a"} // bound to n1 = added to its selection
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("node watch saw %v, want %v", got, want)
	}

	// A watch from an old revision replays history in order.
	var replay []watch.EventType
	if _, err := admin.Watch("pods", "default", Filter{}, 1, func(ev WatchEvent) { replay = append(replay, ev.Type) }); err != nil {
		t.Fatal(err)
	}
	l.RunFor(time.Second)
	if fmt.Sprint(replay) != "[ADDED ADDED MODIFIED DELETED]" {
		t.Fatalf("replay: %v", replay)
	}

	// After compaction, that revision is gone: 410 "too old resource version".
	l.RunFor(2 * DefaultCompactionInterval)
	if _, err := admin.Create(pod("default", "b", "")); err != nil {
		t.Fatal(err)
	}
	l.RunFor(DefaultCompactionInterval)
	_, err := admin.Watch("pods", "default", Filter{}, 1, func(WatchEvent) {})
	if code(err) != 410 || !strings.Contains(err.Error(), "too old resource version") {
		t.Fatalf("watch behind compaction: %v, want 410", err)
	}
}

// BenchmarkCreateToInformer measures a pod create through authentication, authorisation,
// defaulting, admission, validation and the store, to its delivery to 10 watchers.
func BenchmarkCreateToInformer(b *testing.B) {
	_, l, admin := newServer(b)
	delivered := 0
	for i := 0; i < 10; i++ {
		if _, err := admin.Watch("pods", "", Filter{}, 0, func(WatchEvent) { delivered++ }); err != nil {
			b.Fatal(err)
		}
	}
	p := pod("default", "", "")
	p.GenerateName = "bench-"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := admin.Create(p); err != nil {
			b.Fatal(err)
		}
		if i%256 == 255 {
			l.RunFor(time.Second)
		}
	}
	l.RunFor(time.Second)
	if delivered != 10*b.N {
		b.Fatalf("delivered %d, want %d", delivered, 10*b.N)
	}
}
