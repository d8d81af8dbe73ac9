// Package defaultbinder is the DefaultBinder plugin: it binds a pod to its node through the
// API server's pods/binding subresource.
package defaultbinder

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

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

// NewDefaultBinder is the plugin's factory: it binds through the handle's client. The
// plugin takes no args, so args are ignored as upstream ignores them.
func NewDefaultBinder(_ runtime.Object, h framework.Handle) (framework.Plugin, error) {
	if h == nil {
		return nil, fmt.Errorf("%s: a handle with a client is required", Name)
	}
	return New(h.Client()), nil
}

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
