package events

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

func TestRecorder(t *testing.T) {
	l := loop.New(1)
	api, err := apiserver.New(l, eventlog.New(l.Elapsed), apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "u1"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
	r := New(l, api.ClientFor(apiserver.User{Name: apiserver.SchedulerUser}), "default-scheduler", "")

	steps := []struct {
		obj     any
		reason  string
		message string
		// wantEvents is the number of events stored after the step; wantCount the count of
		// the event the step recorded.
		wantEvents int
		wantCount  int32
	}{
		{pod, "FailedScheduling", "0/3 nodes are available", 1, 1},
		{pod, "FailedScheduling", "0/3 nodes are available", 1, 2},
		{pod, "FailedScheduling", "0/4 nodes are available", 2, 1},
		{pod, "Scheduled", "Successfully assigned default/web to node-1", 3, 1},
		{node, "NodeNotReady", "Node node-1 status is now: NodeNotReady", 4, 1},
	}
	for i, s := range steps {
		l.RunFor(time.Second)
		var err error
		switch o := s.obj.(type) {
		case *corev1.Pod:
			err = r.Event(o, corev1.EventTypeWarning, s.reason, s.message)
		case *corev1.Node:
			err = r.Eventf(o, corev1.EventTypeNormal, s.reason, "%s", s.message)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		res, err := admin.List("events", "", apiserver.Filter{}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != s.wantEvents {
			t.Fatalf("step %d: %d events stored, want %d", i, len(res.Items), s.wantEvents)
		}
		var found *corev1.Event
		for _, it := range res.Items {
			ev := it.(*corev1.Event)
			if ev.Reason == s.reason && ev.Message == s.message {
				found = ev
			}
		}
		if found == nil {
			t.Fatalf("step %d: event %s not stored", i, s.reason)
		}
		if found.Count != s.wantCount {
			t.Errorf("step %d: count %d, want %d", i, found.Count, s.wantCount)
		}
		if !found.LastTimestamp.Time.Equal(l.Now()) {
			t.Errorf("step %d: lastTimestamp %v, want %v", i, found.LastTimestamp, l.Now())
		}
		if found.Source.Component != "default-scheduler" {
			t.Errorf("step %d: source %v", i, found.Source)
		}
	}
	// Events about cluster-scoped objects live in "default", as upstream's.
	res, _ := admin.List("events", "default", apiserver.Filter{}, false)
	if len(res.Items) != 4 {
		t.Errorf("events in default: %d, want 4", len(res.Items))
	}
}

func TestRecorderDenied(t *testing.T) {
	l := loop.New(1)
	api, err := apiserver.New(l, nil, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A user with no role may not create events: the error says so, nothing panics.
	r := New(l, api.ClientFor(apiserver.User{Name: "jane"}), "x", "")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	if err := r.Event(pod, corev1.EventTypeNormal, "R", "m"); err == nil {
		t.Error("recording without permission succeeded")
	}
	var nilRecorder *Recorder
	if err := nilRecorder.Event(pod, corev1.EventTypeNormal, "R", "m"); err != nil {
		t.Errorf("nil recorder: %v", err)
	}
}

// TestRecorderSameInstant: a kubelet records Pulled, Created and Started about one pod in
// the same virtual instant; each gets the next nanosecond of the name without a failed
// create (upstream's names differ by the wall clock's nanoseconds).
func TestRecorderSameInstant(t *testing.T) {
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "u1"}}
	r := New(l, api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}}), "kubelet", "node-1")
	var names []string
	log.Subscribe(func(e *eventlog.Entry) {
		if e.Resource == "events" {
			if e.Code != 201 {
				t.Errorf("event create answered %d (%s)", e.Code, e.Message)
			}
			names = append(names, e.Name)
		}
	})
	for _, reason := range []string{"Pulled", "Created", "Started"} {
		if err := r.Event(pod, corev1.EventTypeNormal, reason, reason+" container app"); err != nil {
			t.Fatal(err)
		}
	}
	base := loop.Epoch.UnixNano() + r.offset
	want := []string{fmt.Sprintf("web.%x", base), fmt.Sprintf("web.%x", base+1), fmt.Sprintf("web.%x", base+2)}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}
