package apiserver

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestComponentRoles: each component may do what its bootstrap role allows and nothing
// more; a controller that tried to escalate or to write another component's objects gets 403.
func TestComponentRoles(t *testing.T) {
	s, _, admin := newServer(t)
	if _, err := admin.Create(pod("default", "web", "")); err != nil {
		t.Fatal(err)
	}
	cm := s.ClientFor(User{Name: ControllerManagerUser})
	sched := s.ClientFor(User{Name: SchedulerUser})
	proxy := s.ClientFor(User{Name: ProxyUser})
	deploy := func(name string) runtime.Object {
		one := int32(1)
		lbl := map[string]string{"app": name}
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
	}
	tests := []struct {
		name  string
		call  func() error
		allow bool
	}{
		{"controller manager creates pods", func() error { _, err := cm.Create(pod("default", "p1", "")); return err }, true},
		{"controller manager creates deployments", func() error { _, err := cm.Create(deploy("d1")); return err }, true},
		{"controller manager creates events", func() error {
			_, err := cm.Create(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "e1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}})
			return err
		}, true},
		{"controller manager binds itself to cluster-admin", func() error {
			_, err := cm.Create(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "escalate"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: ControllerManagerUser}}})
			return err
		}, false},
		{"controller manager deletes a cluster role", func() error { _, err := cm.Delete("clusterroles", "", "view", DeleteOptions{}); return err }, false},
		{"controller manager creates priority classes", func() error {
			_, err := cm.Create(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "vip"}, Value: 10})
			return err
		}, false},
		{"controller manager binds pods", func() error {
			return cm.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}})
		}, false},
		{"scheduler lists pods", func() error { _, err := sched.List("pods", "", Filter{}, false); return err }, true},
		{"scheduler creates deployments", func() error { _, err := sched.Create(deploy("d2")); return err }, false},
		{"scheduler creates pods", func() error { _, err := sched.Create(pod("default", "p2", "")); return err }, false},
		{"scheduler updates nodes", func() error {
			obj, err := admin.Get("namespaces", "", "default")
			if err != nil {
				return err
			}
			_, err = sched.Update(obj)
			return err
		}, false},
		{"scheduler deletes pods (preemption)", func() error { _, err := sched.Delete("pods", "default", "p1", DeleteOptions{}); return err }, true},
		{"kube-proxy lists endpointslices", func() error { _, err := proxy.List("endpointslices", "", Filter{}, false); return err }, true},
		{"kube-proxy lists services", func() error { _, err := proxy.List("services", "", Filter{}, false); return err }, true},
		{"kube-proxy lists pods", func() error { _, err := proxy.List("pods", "", Filter{}, false); return err }, false},
		{"kube-proxy deletes pods", func() error { _, err := proxy.Delete("pods", "default", "web", DeleteOptions{}); return err }, false},
	}
	for _, tt := range tests {
		err := tt.call()
		switch {
		case tt.allow && err != nil:
			t.Errorf("%s: %v, want allowed", tt.name, err)
		case !tt.allow && code(err) != 403:
			t.Errorf("%s: %v, want 403 Forbidden", tt.name, err)
		}
	}
}
