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
