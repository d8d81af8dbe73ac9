// Package defaultbinder is the DefaultBinder plugin: it binds a pod to its node through the
// API server's pods/binding subresource.
package defaultbinder

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "DefaultBinder"

// Binder is the API call the plugin makes.
type Binder interface {
	Bind(b *corev1.Binding) error
}

// DefaultBinder is the plugin.
type DefaultBinder struct{ client Binder }

var _ framework.BindPlugin = (*DefaultBinder)(nil)

// New returns the plugin binding through client.
func New(client Binder) *DefaultBinder { return &DefaultBinder{client: client} }

// Name returns the plugin's name.
func (b *DefaultBinder) Name() string { return Name }

// Bind creates the pod's Binding.
func (b *DefaultBinder) Bind(_ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	err := b.client.Bind(&corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	})
	if err != nil {
		return framework.NewStatus(framework.Error, err.Error())
	}
	return nil
}
