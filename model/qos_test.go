package model

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodQOSClass(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		out := corev1.ResourceList{}
		if cpu != "" {
			out[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			out[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return out
	}
	pod := func(cs ...corev1.ResourceRequirements) *corev1.Pod {
		p := &corev1.Pod{}
		for _, r := range cs {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
		}
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{"nothing", pod(corev1.ResourceRequirements{}), corev1.PodQOSBestEffort},
		{"limits equal requests", pod(corev1.ResourceRequirements{Requests: rl("1", "1Gi"), Limits: rl("1", "1Gi")}), corev1.PodQOSGuaranteed},
		{"limits only (requests default to them)", pod(corev1.ResourceRequirements{Limits: rl("1", "1Gi")}), corev1.PodQOSGuaranteed},
		{"requests below limits", pod(corev1.ResourceRequirements{Requests: rl("500m", "1Gi"), Limits: rl("1", "1Gi")}), corev1.PodQOSBurstable},
		{"cpu limit only", pod(corev1.ResourceRequirements{Limits: rl("1", "")}), corev1.PodQOSBurstable},
		{"one guaranteed, one best effort", pod(corev1.ResourceRequirements{Limits: rl("1", "1Gi")}, corev1.ResourceRequirements{}), corev1.PodQOSBurstable},
	}
	for _, tt := range tests {
		if got := PodQOSClass(tt.pod); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}
