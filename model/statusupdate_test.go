package model

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestValidateStatusUpdate: a status update is checked on its metadata and status only,
// with upstream's field paths.
func TestValidateStatusUpdate(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", ResourceVersion: "7"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "7"}}
	withPod := func(f func(p *corev1.Pod)) runtime.Object { p := pod.DeepCopy(); f(p); return p }
	withNode := func(f func(n *corev1.Node)) runtime.Object { n := node.DeepCopy(); f(n); return n }
	for _, tc := range []struct {
		name     string
		obj, old runtime.Object
		want     string // a substring of the only error; "" for none
	}{
		{"pod running", withPod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP, p.Status.PodIPs = "10.244.1.5", []corev1.PodIP{{IP: "10.244.1.5"}}
		}), pod, ""},
		{"nominated node not a name", withPod(func(p *corev1.Pod) { p.Status.NominatedNodeName = "Node_1" }), pod, "status.nominatedNodeName"},
		{"pod IP not an IP", withPod(func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1"}} }), pod, "status.podIPs[0].ip"},
		{"name changed", withPod(func(p *corev1.Pod) { p.Name = "other" }), pod, "metadata.name"},
		{"negative allocatable", withNode(func(n *corev1.Node) {
			n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
		}), node, "status.allocatable[cpu]"},
		{"type changed", node, pod, "may not change the type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateStatusUpdate(tc.obj, tc.old)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("errors %v, want none", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("errors %v, want one naming %q", errs, tc.want)
			}
		})
	}
}
