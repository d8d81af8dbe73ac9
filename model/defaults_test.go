package model

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDefaultImagePullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.25", corev1.PullIfNotPresent},
		{"nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullIfNotPresent},
		{"nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullAlways},
		{"localhost:5000/app", corev1.PullAlways},
		{"localhost:5000/app:v2", corev1.PullIfNotPresent},
		{"registry.k8s.io/pause:3.10", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: tt.image}}}}
		Default(pod)
		if got := pod.Spec.Containers[0].ImagePullPolicy; got != tt.want {
			t.Errorf("%s: imagePullPolicy = %s, want %s", tt.image, got, tt.want)
		}
	}
}

func TestDefaultPod(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "c", Image: "nginx:1.25",
			Ports:         []corev1.ContainerPort{{ContainerPort: 80}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Resources:     corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
		}},
		Volumes: []corev1.Volume{{Name: "v"}},
	}}
	Default(pod)
	s := pod.Spec
	c := s.Containers[0]
	checks := []struct {
		name string
		ok   bool
	}{
		{"restartPolicy Always", s.RestartPolicy == corev1.RestartPolicyAlways},
		{"dnsPolicy ClusterFirst", s.DNSPolicy == corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds 30", *s.TerminationGracePeriodSeconds == 30},
		{"schedulerName", s.SchedulerName == "default-scheduler"},
		{"securityContext", s.SecurityContext != nil},
		{"enableServiceLinks", *s.EnableServiceLinks},
		{"terminationMessagePath", c.TerminationMessagePath == "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy == corev1.TerminationMessageReadFile},
		{"port protocol", c.Ports[0].Protocol == corev1.ProtocolTCP},
		{"probe timeout", c.LivenessProbe.TimeoutSeconds == 1},
		{"probe period", c.LivenessProbe.PeriodSeconds == 10},
		{"probe success", c.LivenessProbe.SuccessThreshold == 1},
		{"probe failure", c.LivenessProbe.FailureThreshold == 3},
		{"httpGet path and scheme", c.LivenessProbe.HTTPGet.Path == "/" && c.LivenessProbe.HTTPGet.Scheme == corev1.URISchemeHTTP},
		{"requests from limits", c.Resources.Requests.Cpu().MilliValue() == 500},
		{"resize policy", len(c.ResizePolicy) == 1 && c.ResizePolicy[0].RestartPolicy == corev1.NotRequired},
		{"empty volume is emptyDir", s.Volumes[0].EmptyDir != nil},
		{"priority unset", s.Priority == nil},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s not defaulted: %+v", ch.name, s)
		}
	}
}

func TestDefaultWorkloads(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}

	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: *tmpl.DeepCopy()}}
	Default(d)
	ru := d.Spec.Strategy.RollingUpdate
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		*ru.MaxSurge != intstr.FromString("25%") || *ru.MaxUnavailable != intstr.FromString("25%") ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("deployment defaults = %+v", d.Spec)
	}
	ps := d.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyAlways || ps.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("template not defaulted: %+v", ps)
	}
	if ps.Containers[0].Resources.Requests != nil || ps.EnableServiceLinks != nil {
		t.Errorf("pod-only defaults applied to a template: %+v", ps)
	}

	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if *rs.Spec.Replicas != 1 {
		t.Errorf("replicaset replicas = %d", *rs.Spec.Replicas)
	}

	ds := &appsv1.DaemonSet{}
	Default(ds)
	dru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || *dru.MaxUnavailable != intstr.FromInt32(1) ||
		*dru.MaxSurge != intstr.FromInt32(0) || *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("daemonset defaults = %+v", ds.Spec)
	}

	j := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}}}}
	Default(j)
	if *j.Spec.Parallelism != 1 || *j.Spec.Completions != 1 || *j.Spec.BackoffLimit != 6 ||
		*j.Spec.CompletionMode != batchv1.NonIndexedCompletion || *j.Spec.Suspend || *j.Spec.ManualSelector ||
		*j.Spec.PodReplacementPolicy != batchv1.TerminatingOrFailed || j.Labels["a"] != "b" {
		t.Errorf("job defaults = %+v", j.Spec)
	}
	j2 := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptrTo(int32(3))}}
	Default(j2)
	if j2.Spec.Completions != nil || *j2.Spec.Parallelism != 3 {
		t.Errorf("job with parallelism only: %+v", j2.Spec)
	}
}

func TestDefaultOtherKinds(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	Default(svc)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.SessionAffinity != corev1.ServiceAffinityNone ||
		svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP || svc.Spec.Ports[0].TargetPort != intstr.FromInt32(80) ||
		*svc.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
		t.Errorf("service defaults = %+v", svc.Spec)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	Default(ns)
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != "shop" {
		t.Errorf("namespace defaults = %+v", ns)
	}
	pc := &schedulingv1.PriorityClass{}
	Default(pc)
	if *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("priorityclass preemptionPolicy = %v", *pc.PreemptionPolicy)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}}}
	Default(hpa)
	if *hpa.Spec.MinReplicas != 1 || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 ||
		*hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 300 || len(hpa.Spec.Behavior.ScaleUp.Policies) != 2 {
		t.Errorf("hpa defaults = %+v", hpa.Spec)
	}
	rb := &rbacv1.RoleBinding{Subjects: []rbacv1.Subject{{Kind: "User", Name: "u"}, {Kind: "ServiceAccount", Name: "s"}}}
	Default(rb)
	if rb.RoleRef.APIGroup != rbacv1.GroupName || rb.Subjects[0].APIGroup != rbacv1.GroupName || rb.Subjects[1].APIGroup != "" {
		t.Errorf("rolebinding defaults = %+v", rb)
	}
	node := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}
	Default(node)
	if node.Status.Allocatable.Cpu().Value() != 4 {
		t.Errorf("node allocatable = %v", node.Status.Allocatable)
	}
	sec := &corev1.Secret{}
	Default(sec)
	if sec.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type = %s", sec.Type)
	}
}
