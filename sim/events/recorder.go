// Package events records core/v1 Events about objects through the API server, as
// client-go's event recorder does for every Kubernetes component: an event is named after
// its object and the time, and a repeat of the same event (same object, type, reason,
// message and source) bumps the count and lastTimestamp of the first instead of creating
// another.
package events

import (
	"fmt"
	"hash/fnv"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/loop"
)

// MaxCached is how many distinct events a recorder remembers for deduplication, as
// client-go's event cache size.
const MaxCached = 4096

// Recorder records events for one component.
type Recorder struct {
	clock  loop.Clock
	client *apiserver.Client
	source corev1.EventSource
	// seen maps an event's identity to the name of the stored event that counts it.
	seen  map[string]*corev1.Event
	order []string
	// offset is added to an event's nanoseconds in its name (see Event).
	offset int64
	// last is the nanoseconds of the last event name this recorder created.
	last int64
}

// New returns a recorder writing through client; component and host fill the events'
// source (host is the node name for a kubelet, empty otherwise).
func New(clock loop.Clock, client *apiserver.Client, component, host string) *Recorder {
	h := fnv.New32a()
	h.Write([]byte(component + "/" + host))
	return &Recorder{clock: clock, client: client, source: corev1.EventSource{Component: component, Host: host}, seen: map[string]*corev1.Event{},
		offset: int64(h.Sum32() % 1000)}
}

// Event records an event of type eventType (corev1.EventTypeNormal or EventTypeWarning)
// about obj. Failures to record are returned but are never fatal to the caller: upstream
// components log and drop them.
func (r *Recorder) Event(obj runtime.Object, eventType, reason, message string) error {
	if r == nil {
		return nil
	}
	ref, err := Reference(obj)
	if err != nil {
		return err
	}
	now := metav1.NewTime(r.clock.Now())
	key := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s", r.source.Component, r.source.Host, ref.Kind, ref.Namespace, ref.Name, eventType, reason, message)
	if prev, ok := r.seen[key]; ok {
		ev := prev.DeepCopy()
		ev.Count++
		ev.LastTimestamp = now
		stored, err := r.client.Update(ev)
		if err == nil {
			r.seen[key] = stored.(*corev1.Event)
			return nil
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("record event %s: %w", reason, err)
		}
		delete(r.seen, key) // deleted or changed meanwhile: start a new one
	}
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns},
		InvolvedObject:      *ref,
		Reason:              reason,
		Message:             message,
		Source:              r.source,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		Type:                eventType,
		ReportingController: r.source.Component,
		ReportingInstance:   r.source.Host,
	}
	// Upstream names an event <object>.<hex nanoseconds>. In virtual time components act
	// at the same instant, so each recorder adds its own offset below a microsecond (from
	// its source), its own events of one instant take the following nanoseconds, and
	// should the name still be taken, the next free nanosecond.
	nanos := max(now.UnixNano()+r.offset, r.last+1)
	for i := int64(0); ; i++ {
		ev.Name = fmt.Sprintf("%s.%x", ref.Name, nanos+i)
		stored, err := r.client.Create(ev)
		if err == nil {
			r.last = nanos + i
			r.remember(key, stored.(*corev1.Event))
			return nil
		}
		if !apierrors.IsAlreadyExists(err) || i >= 16 {
			return fmt.Errorf("record event %s: %w", reason, err)
		}
	}
}

// Eventf is Event with a formatted message.
func (r *Recorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) error {
	return r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (r *Recorder) remember(key string, ev *corev1.Event) {
	if len(r.order) >= MaxCached {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	r.seen[key] = ev
	r.order = append(r.order, key)
}

// Reference returns the object reference an event about obj carries.
func Reference(obj runtime.Object) (*corev1.ObjectReference, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("event about %T: %w", obj, err)
	}
	k, err := model.KindOf(obj)
	if err != nil {
		return nil, fmt.Errorf("event about %T: %w", obj, err)
	}
	apiVersion := k.GVK.Version
	if k.GVK.Group != "" {
		apiVersion = k.GVK.Group + "/" + k.GVK.Version
	}
	return &corev1.ObjectReference{
		Kind: k.GVK.Kind, APIVersion: apiVersion, Namespace: m.GetNamespace(), Name: m.GetName(),
		UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
	}, nil
}

// Sorted returns events ordered by first timestamp, then name: the order `kubectl events`
// prints them in.
func Sorted(evs []*corev1.Event) []*corev1.Event {
	out := append([]*corev1.Event(nil), evs...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FirstTimestamp.Equal(&out[j].FirstTimestamp) {
			return out[i].FirstTimestamp.Before(&out[j].FirstTimestamp)
		}
		return out[i].Name < out[j].Name
	})
	return out
}
