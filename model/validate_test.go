package model

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.25"}}},
	}
}

func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		obj  func() runtime.Object
		want string // one error's full text, "" for valid objects
	}{
		{"valid pod", func() runtime.Object { return validPod() }, ""},
		{"valid deployment", func() runtime.Object { return validDeployment() }, ""},
		{"missing name", func() runtime.Object { p := validPod(); p.Name = ""; return p }, "metadata.name: Required value: name or generateName is required"},
		{"bad name", func() runtime.Object { p := validPod(); p.Name = "Web_1"; return p }, `metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain`},
		{"generateName only", func() runtime.Object { p := validPod(); p.Name, p.GenerateName = "", "web-"; return p }, ""},
		{"bad namespace", func() runtime.Object { p := validPod(); p.Namespace = "a.b"; return p }, `metadata.namespace: Invalid value: "a.b": must not contain dots`},
		{"bad label", func() runtime.Object { p := validPod(); p.Labels = map[string]string{"a": "-x"}; return p }, `metadata.labels: Invalid value: "-x": a valid label must be`},
		{"no containers", func() runtime.Object { p := validPod(); p.Spec.Containers = nil; return p }, "spec.containers: Required value"},
		{"bad container name", func() runtime.Object { p := validPod(); p.Spec.Containers[0].Name = "C"; return p }, `spec.containers[0].name: Invalid value: "C"`},
		{"duplicate container", func() runtime.Object {
			p := validPod()
			p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0])
			return p
		}, `spec.containers[1].name: Duplicate value: "c"`},
		{"no image", func() runtime.Object { p := validPod(); p.Spec.Containers[0].Image = ""; return p }, "spec.containers[0].image: Required value"},
		{"negative request", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1")}
			return p
		}, `spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`},
		{"requests above limits", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
			return p
		}, `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`},
		{"port out of range", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
			return p
		}, "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
		{"bad restart policy", func() runtime.Object { p := validPod(); p.Spec.RestartPolicy = "Sometimes"; return p },
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		{"probe without handler", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
			return p
		}, "spec.containers[0].readinessProbe: Required value: must specify a handler type"},
		{"probe with two handlers", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
			return p
		}, "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"},
		{"mount of unknown volume", func() runtime.Object {
			p := validPod()
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}
			return p
		}, `spec.containers[0].volumeMounts[0].name: Not found: "data"`},
		{"toleration exists with value", func() runtime.Object {
			p := validPod()
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"}}
			return p
		}, "spec.tolerations[0].operator: Invalid value: "},
		{"selector mismatch", func() runtime.Object {
			d := validDeployment()
			d.Spec.Template.Labels = map[string]string{"app": "x"}
			return d
		},
			"spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"},
		{"missing selector", func() runtime.Object { d := validDeployment(); d.Spec.Selector = nil; return d }, "spec.selector: Required value"},
		{"empty selector", func() runtime.Object { d := validDeployment(); d.Spec.Selector = &metav1.LabelSelector{}; return d },
			"spec.selector: Invalid value: {}: empty selector is invalid for deployment"},
		{"negative replicas", func() runtime.Object { d := validDeployment(); d.Spec.Replicas = ptrTo(int32(-1)); return d },
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{"surge and unavailable zero", func() runtime.Object {
			d := validDeployment()
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
			return d
		}, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		{"template restart policy", func() runtime.Object {
			d := validDeployment()
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			return d
		},
			`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		{"template container invalid", func() runtime.Object { d := validDeployment(); d.Spec.Template.Spec.Containers[0].Name = ""; return d },
			"spec.template.spec.containers[0].name: Required value"},
		{"job restart always", func() runtime.Object {
			return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}}
		}, `spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`},
		{"job negative backoff", func() runtime.Object {
			return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{BackoffLimit: ptrTo(int32(-1)), Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}}
		}, "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"},
		{"service without ports", func() runtime.Object {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}
		}, "spec.ports: Required value"},
		{"headless service without ports", func() runtime.Object {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}}
		}, ""},
		{"service name must start with a letter", func() runtime.Object {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "1s"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}}
		}, `metadata.name: Invalid value: "1s": a DNS-1035 label must consist of`},
		{"namespace name is a label", func() runtime.Object { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a.b"}} },
			`metadata.name: Invalid value: "a.b": must not contain dots`},
		{"user priority too high", func() runtime.Object {
			return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000}
		}, "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
		{"system priority class", func() runtime.Object {
			return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 2000000000}
		}, ""},
		{"role without verbs", func() runtime.Object {
			return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}
		}, "rules[0].verbs: Required value: verbs must contain at least one value"},
		{"cluster role binding to a role", func() runtime.Object {
			return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"}}
		}, `roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`},
		{"event", func() runtime.Object {
			return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}, Reason: "FailedScheduling", Type: corev1.EventTypeWarning}
		}, ""},
		{"event in another namespace", func() runtime.Object {
			return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "prod", Name: "web"}}
		}, `involvedObject.namespace: Invalid value: "prod": does not match event.namespace`},
		{"event type", func() runtime.Object {
			return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"}, Type: "Error"}
		}, `type: Unsupported value: "Error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj()
			Default(obj)
			errs := Validate(obj)
			if tt.want == "" {
				if len(errs) != 0 {
					t.Errorf("unexpected errors: %v", errs.ToAggregate())
				}
				return
			}
			for _, e := range errs {
				if strings.HasPrefix(e.Error(), tt.want) {
					return
				}
			}
			t.Errorf("no error starting with %q in %v", tt.want, errs.ToAggregate())
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		update func(runtime.Object)
		old    func() runtime.Object
		want   string
	}{
		{"pod image change", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers[0].Image = "nginx:1.26" }, func() runtime.Object { return validPod() }, ""},
		{"pod bind once", func(o runtime.Object) { o.(*corev1.Pod).Spec.NodeName = "node-1" }, func() runtime.Object { return validPod() }, ""},
		{"pod rebind", func(o runtime.Object) { o.(*corev1.Pod).Spec.NodeName = "node-2" },
			func() runtime.Object { p := validPod(); p.Spec.NodeName = "node-1"; return p },
			"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"},
		{"pod env change", func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
		},
			func() runtime.Object { return validPod() }, "spec: Forbidden: pod updates may not change fields other than"},
		{"pod toleration added", func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Tolerations = append(o.(*corev1.Pod).Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		}, func() runtime.Object {
			p := validPod()
			p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
			return p
		}, ""},
		{"pod toleration removed", func(o runtime.Object) { o.(*corev1.Pod).Spec.Tolerations = nil }, func() runtime.Object {
			p := validPod()
			p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
			return p
		}, "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"},
		{"pod deadline raised", func(o runtime.Object) { o.(*corev1.Pod).Spec.ActiveDeadlineSeconds = ptrTo(int64(100)) },
			func() runtime.Object { p := validPod(); p.Spec.ActiveDeadlineSeconds = ptrTo(int64(10)); return p },
			"spec.activeDeadlineSeconds: Invalid value: 100: must be less than or equal to previous value"},
		{"deployment selector", func(o runtime.Object) {
			d := o.(*appsv1.Deployment)
			d.Spec.Selector.MatchLabels["tier"] = "x"
			d.Spec.Template.Labels["tier"] = "x"
		}, func() runtime.Object { return validDeployment() }, "spec.selector: Invalid value: "},
		{"deployment replicas", func(o runtime.Object) { o.(*appsv1.Deployment).Spec.Replicas = ptrTo(int32(5)) }, func() runtime.Object { return validDeployment() }, ""},
		{"name change", func(o runtime.Object) { o.(*appsv1.Deployment).Name = "other" }, func() runtime.Object { return validDeployment() },
			`metadata.name: Invalid value: "other": field is immutable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.old()
			Default(old)
			old.(metav1.Object).SetResourceVersion("1")
			obj := old.DeepCopyObject()
			tt.update(obj)
			errs := ValidateUpdate(obj, old)
			if tt.want == "" {
				if len(errs) != 0 {
					t.Errorf("unexpected errors: %v", errs.ToAggregate())
				}
				return
			}
			for _, e := range errs {
				if strings.HasPrefix(e.Error(), tt.want) {
					return
				}
			}
			t.Errorf("no error starting with %q in %v", tt.want, errs.ToAggregate())
		})
	}
	if errs := ValidateUpdate(validPod(), validDeployment()); len(errs) == 0 {
		t.Error("changing the type was allowed")
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != 22 {
		t.Errorf("got %d kinds, want 22", len(ks))
	}
	for i, k := range ks {
		if i > 0 && ks[i-1].Resource >= k.Resource {
			t.Errorf("kinds not sorted at %s", k.Resource)
		}
		got, err := KindOf(k.New())
		if err != nil || got != k {
			t.Errorf("KindOf(%s) = %v, %v", k.Resource, got, err)
		}
		if l, ok := LookupResource(k.Resource); !ok || l != k {
			t.Errorf("LookupResource(%s) failed", k.Resource)
		}
		if l, ok := LookupKind(k.GVK.GroupVersion().String(), k.GVK.Kind); !ok || l != k {
			t.Errorf("LookupKind(%s) failed", k.GVK)
		}
		if _, _, err := Scheme().ObjectKinds(k.New()); err != nil {
			t.Errorf("scheme does not know %s: %v", k.GVK, err)
		}
	}
	if k, _ := LookupKind("apps/v1", "Deployment"); k.GroupResource().String() != "deployments.apps" || k.Namespaced != true || !k.HasStatus {
		t.Errorf("deployment kind = %+v", k)
	}
	if k, _ := LookupResource("clusterroles"); k.Namespaced || k.GroupKind().String() != "ClusterRole.rbac.authorization.k8s.io" {
		t.Errorf("clusterrole kind = %+v", k)
	}
	if _, ok := LookupKind("apps/v1", "Deploymnt"); ok {
		t.Error("unknown kind found")
	}
	if _, err := KindOf(&corev1.PodList{}); err == nil {
		t.Error("KindOf(PodList) succeeded")
	}
	if _, err := KindOf(nil); err == nil {
		t.Error("KindOf(nil) succeeded")
	}
}
