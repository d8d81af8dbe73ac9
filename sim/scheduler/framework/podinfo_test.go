package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

func TestNewPodInfoNonZero(t *testing.T) {
	req := func(kv ...string) corev1.ResourceRequirements {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return corev1.ResourceRequirements{Requests: l}
	}
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name          string
		containers    []corev1.Container
		init          []corev1.Container
		wantCPU       int64
		wantMem       int64
		wantNonZeroCP int64
	}{
		{"both set", []corev1.Container{{Resources: req("cpu", "250m", "memory", "64Mi")}}, nil, 250, 64 << 20, 250},
		{"cpu missing", []corev1.Container{{Resources: req("memory", "64Mi")}}, nil, 0, 64 << 20, DefaultMilliCPURequest},
		{"second container empty", []corev1.Container{{Resources: req("cpu", "1", "memory", "1Gi")}, {}}, nil, 1000, 1 << 30, 1000 + DefaultMilliCPURequest},
		{"init missing memory", []corev1.Container{{Resources: req("cpu", "10m", "memory", "1Mi")}}, []corev1.Container{{Resources: req("cpu", "2")}}, 2000, 1 << 20, 2000},
		{"sidecar", []corev1.Container{{Resources: req("cpu", "100m", "memory", "1Mi")}}, []corev1.Container{{RestartPolicy: &always, Resources: req("cpu", "50m", "memory", "2Mi")}}, 150, 3 << 20, 150},
		{"gpu", []corev1.Container{{Resources: req("cpu", "1", "memory", "1Gi", "nvidia.com/gpu", "2")}}, nil, 1000, 1 << 30, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers, InitContainers: tc.init}}
			pi := NewPodInfo(pod)
			if pi.Requests.MilliCPU != tc.wantCPU || pi.Requests.Memory != tc.wantMem || pi.NonZero.MilliCPU != tc.wantNonZeroCP {
				t.Errorf("requests cpu %d memory %d, non-zero cpu %d; want %d, %d, %d", pi.Requests.MilliCPU, pi.Requests.Memory, pi.NonZero.MilliCPU, tc.wantCPU, tc.wantMem, tc.wantNonZeroCP)
			}
			// The non-zero requests are always what the helper computes with the defaults.
			want := NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
			}}))
			if !equality.Semantic.DeepEqual(pi.NonZero, want) {
				t.Errorf("non-zero requests %+v, want %+v", pi.NonZero, want)
			}
		})
	}
}

// TestContainerRequestsAsHelper pins the allocation-free path of InitPodInfo to
// component-helpers' PodRequests: for every pod it takes (fast true) the requests and the
// non-zero requests are what the helper gives, rounding of sums included; the others go
// through the helper.
func TestContainerRequestsAsHelper(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	c := func(kv ...string) corev1.Container {
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: rl(kv...)}}
	}
	tests := []struct {
		name string
		spec corev1.PodSpec
		fast bool
	}{
		{"no containers", corev1.PodSpec{}, true},
		{"one container", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "250m", "memory", "64Mi")}}, true},
		{"one container, nothing requested", corev1.PodSpec{Containers: []corev1.Container{{}}}, true},
		{"one container, explicit zeros", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "0", "memory", "0")}}, true},
		{"one container, gpu and storage", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "1", "nvidia.com/gpu", "2", "ephemeral-storage", "1Gi", "pods", "1")}}, true},
		{"one container, zero gpu", corev1.PodSpec{Containers: []corev1.Container{c("nvidia.com/gpu", "0")}}, true},
		{"sums round once", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "0.5m", "memory", "1500m"), c("cpu", "0.5m", "memory", "1500m")}}, true},
		{"three containers, some missing", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "100m"), c("memory", "1Gi", "ephemeral-storage", "2Gi"), {}}}, true},
		{"two containers with a gpu", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "1", "nvidia.com/gpu", "1"), c("cpu", "1")}}, false},
		{"init container", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "1")}, InitContainers: []corev1.Container{c("cpu", "2")}}, false},
		{"overhead", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "1")}, Overhead: rl("cpu", "250m")}, false},
		{"pod-level requests", corev1.PodSpec{Containers: []corev1.Container{c("cpu", "1")}, Resources: &corev1.ResourceRequirements{Requests: rl("cpu", "3", "memory", "1Gi")}}, false},
	}
	defaults := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tc.spec}
			if _, _, fast := containerRequests(pod); fast != tc.fast {
				t.Fatalf("fast path %v, want %v", fast, tc.fast)
			}
			pi := NewPodInfo(pod)
			want := NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
			if !equality.Semantic.DeepEqual(pi.Requests, want) {
				t.Errorf("requests %+v, want %+v", pi.Requests, want)
			}
			wantNonZero := NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{NonMissingContainerRequests: defaults}))
			if !equality.Semantic.DeepEqual(pi.NonZero, wantNonZero) {
				t.Errorf("non-zero requests %+v, want %+v", pi.NonZero, wantNonZero)
			}
		})
	}
	// The rounding case is the one where adding rounded requests would differ.
	two := NewPodInfo(&corev1.Pod{Spec: tests[6].spec})
	if two.Requests.MilliCPU != 1 || two.Requests.Memory != 3 {
		t.Errorf("sums of 0.5m cpu and 1500m bytes: %d millicores, %d bytes; want 1 and 3", two.Requests.MilliCPU, two.Requests.Memory)
	}
}
