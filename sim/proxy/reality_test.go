package proxy

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// TestRealityFollowsRuntime: a container serves from its start plus readyAfter until
// SIGTERM (or, ignoring SIGTERM, until it is gone); a crash takes the node's containers;
// every change is announced before it happens; the runtime stays reachable.
func TestRealityFollowsRuntime(t *testing.T) {
	l := loop.New(1)
	r := NewReality(l)
	changes := 0
	r.SetBeforeChange(func() { changes++ })
	r.NodeUp("n1")
	sim := kubelet.NewSimRuntime(l, "img")
	rt := r.Track("n1", sim)
	if Underlying(rt) != kubelet.Runtime(sim) || Underlying(sim) != kubelet.Runtime(sim) {
		t.Fatal("Underlying does not unwrap")
	}
	ready, ignore := 2*time.Second, &model.SIGTERMHandling{Ignore: true}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}
	}
	a, b := pod("a1"), pod("b1")
	ep := func(p *corev1.Pod) Endpoint { return Endpoint{Node: "n1", PodUID: p.UID, Port: 8080} }
	rt.StartContainer(kubelet.ContainerConfig{ID: "a/c/0", Pod: a, Container: &a.Spec.Containers[0], Profile: model.ContainerProfile{ReadyAfter: &ready}}, func() {}, func(kubelet.Exit) {})
	rt.StartContainer(kubelet.ContainerConfig{ID: "b/c/0", Pod: b, Container: &b.Spec.Containers[0], Profile: model.ContainerProfile{SIGTERM: ignore}}, func() {}, func(kubelet.Exit) {})
	at := func(d time.Duration) time.Time { return loop.Epoch.Add(d) }
	if c := r.Check("n1", false, ep(a), at(0)); c != CauseRefused {
		t.Errorf("before the start: %q", c)
	}
	l.RunFor(time.Second) // started at 0.5 s
	if c := r.Check("n1", false, ep(a), at(time.Second)); c != CauseNotReady {
		t.Errorf("warming up: %q", c)
	}
	if c := r.Check("n1", false, ep(a), at(2500*time.Millisecond)); c != "" {
		t.Errorf("warmed up: %q", c)
	}
	rt.StopContainer("a/c/0", 30*time.Second, func(kubelet.Exit) {})
	rt.StopContainer("b/c/0", 30*time.Second, func(kubelet.Exit) {})
	if c := r.Check("n1", false, ep(a), at(time.Second)); c != CauseRefused {
		t.Errorf("after SIGTERM: %q", c)
	}
	if c := r.Check("n1", false, ep(b), at(time.Second)); c != "" {
		t.Errorf("ignoring SIGTERM: %q", c)
	}
	l.RunFor(time.Minute) // SIGKILL at the end of the grace period
	if c := r.Check("n1", false, ep(b), at(time.Minute)); c != CauseRefused {
		t.Errorf("killed: %q", c)
	}
	c := pod("c1")
	rt.StartContainer(kubelet.ContainerConfig{ID: "c/c/0", Pod: c, Container: &c.Spec.Containers[0]}, func() {}, func(kubelet.Exit) {})
	l.RunFor(time.Second)
	r.SetPartitioned("n1", true)
	if got := r.Check("n2", false, ep(c), l.Now()); got != CauseUnreachable {
		t.Errorf("across a partition: %q", got)
	}
	if got := r.Check("n1", false, ep(c), l.Now()); got != "" {
		t.Errorf("within the partitioned node: %q", got)
	}
	r.SetPartitioned("n1", false)
	r.NodeDown("n1")
	if got := r.Check("n1", false, ep(c), l.Now()); got != CauseNodeDown {
		t.Errorf("crashed node: %q", got)
	}
	if len(r.pods) != 0 || len(r.byID) != 0 || changes == 0 {
		t.Errorf("left %d pods, %d instances; %d changes announced", len(r.pods), len(r.byID), changes)
	}
}
