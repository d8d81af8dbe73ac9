package apiserver

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCutOff: a node's client cannot reach the API server while the node is cut off, its
// watch receives nothing, and on reconnect it receives what it missed, in order, one watch
// latency later; other clients are not affected.
func TestCutOff(t *testing.T) {
	s, l, admin := newServer(t)
	nodeUser := User{Name: "system:node:n1", Groups: []string{NodesGroup}}
	kubelet := s.ClientOn(nodeUser, "n1")
	type seen struct {
		at   time.Duration
		name string
	}
	var got []seen
	if _, err := kubelet.Watch("pods", "", Filter{NodeName: "n1"}, 0, func(ev WatchEvent) {
		got = append(got, seen{l.Elapsed(), ev.Object.(*corev1.Pod).Name})
	}); err != nil {
		t.Fatal(err)
	}
	create := func(name string) {
		t.Helper()
		if _, err := admin.Create(pod("default", name, "n1")); err != nil {
			t.Fatal(err)
		}
	}
	create("a")
	l.RunFor(time.Second)
	s.CutOff("n1")
	if got := s.CutOffNodes(); len(got) != 1 || got[0] != "n1" {
		t.Fatalf("CutOffNodes() = %v", got)
	}
	_, err := kubelet.Get("pods", "default", "a")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Get from a cut-off node: %v, want ErrUnreachable", err)
	}
	lease := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	if _, err := kubelet.Create(lease); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Create from a cut-off node: %v, want ErrUnreachable", err)
	}
	if u, err := kubelet.User(); err != nil || u.Name != nodeUser.Name {
		t.Fatalf("User() = %v, %v: the identity does not need the network", u, err)
	}
	if _, err := admin.Get("pods", "default", "a"); err != nil {
		t.Fatalf("the control plane's own client: %v", err)
	}
	create("b")
	create("c")
	l.RunFor(time.Minute)
	s.Reconnect("n1")
	l.RunFor(time.Second)
	want := []seen{
		{DefaultWatchLatency, "a"},
		{time.Minute + time.Second + DefaultWatchLatency, "b"},
		{time.Minute + time.Second + DefaultWatchLatency, "c"},
	}
	if len(got) != len(want) {
		t.Fatalf("watch saw %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := kubelet.Get("pods", "default", "b"); err != nil {
		t.Errorf("Get after reconnect: %v", err)
	}
}
