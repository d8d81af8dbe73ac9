package deployment

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTemplatesEqual: templates equal but for the pod-template-hash label compare equal,
// as upstream's EqualIgnoreHash; anything else differing does not; neither is changed.
func TestTemplatesEqual(t *testing.T) {
	base := func() *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}},
		}
	}
	hashed := func(h string) *corev1.PodTemplateSpec {
		t := base()
		t.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = h
		return t
	}
	tests := []struct {
		name string
		a, b *corev1.PodTemplateSpec
		want bool
	}{
		{"same", base(), base(), true},
		{"hash on one side", base(), hashed("abc"), true},
		{"different hashes", hashed("abc"), hashed("def"), true},
		{"only the hash label against none", &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "x"}}}, &corev1.PodTemplateSpec{}, true},
		{"other label differs", base(), func() *corev1.PodTemplateSpec { t := hashed("abc"); t.Labels["app"] = "api"; return t }(), false},
		{"extra label", base(), func() *corev1.PodTemplateSpec { t := base(); t.Labels["tier"] = "front"; return t }(), false},
		{"image differs", base(), func() *corev1.PodTemplateSpec {
			t := hashed("abc")
			t.Spec.Containers[0].Image = "nginx:1.28"
			return t
		}(), false},
		{"same quantity written otherwise", base(), func() *corev1.PodTemplateSpec {
			t := base()
			t.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("0.5")
			return t
		}(), true},
		{"annotation differs", base(), func() *corev1.PodTemplateSpec { t := base(); t.Annotations = map[string]string{"a": "b"}; return t }(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.a.DeepCopy(), tc.b.DeepCopy()
			if got := templatesEqual(a, b); got != tc.want {
				t.Errorf("templatesEqual = %v, want %v", got, tc.want)
			}
			if got := templatesEqual(b, a); got != tc.want {
				t.Errorf("templatesEqual (swapped) = %v, want %v", got, tc.want)
			}
			if len(a.Labels) != len(tc.a.Labels) || len(b.Labels) != len(tc.b.Labels) {
				t.Error("templatesEqual changed its arguments")
			}
		})
	}
}
