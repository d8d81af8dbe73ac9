package apiserver

import (
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/store"
)

// WatchEvent is one change seen by a watch: Added, Modified or Deleted, with the object
// (shared and read-only: copy before changing it).
type WatchEvent struct {
	Type   watch.EventType
	Object runtime.Object
}

// Filter selects the objects a list or watch returns.
type Filter struct {
	// Labels selects by label; nil selects everything.
	Labels labels.Selector
	// NodeName selects pods by spec.nodeName (the field selector kubelets use); "" selects
	// all. Only valid for pods.
	NodeName string
	// Unassigned selects pods with an empty spec.nodeName (the scheduler's field selector).
	Unassigned bool
}

func (f *Filter) matches(obj runtime.Object) bool {
	if f.Labels != nil && !f.Labels.Empty() && !f.Labels.Matches(labels.Set(accessor(obj).GetLabels())) {
		return false
	}
	if f.NodeName != "" || f.Unassigned {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return false
		}
		if f.Unassigned {
			return pod.Spec.NodeName == ""
		}
		return pod.Spec.NodeName == f.NodeName
	}
	return true
}

// watcher is one client watch.
type watcher struct {
	rw      *resourceWatch
	id      uint64
	ns      string
	filter  Filter
	fn      func(WatchEvent)
	stopped bool
	node    string       // the watching client's node
	held    []WatchEvent // events kept while the node is cut off
}

// Watch is a running watch; Stop ends it (events already in flight are dropped).
type Watch struct{ w *watcher }

// Stop ends the watch.
func (w Watch) Stop() {
	if w.w == nil || w.w.stopped {
		return
	}
	w.w.stopped = true
	rw := w.w.rw
	rw.removals++
	if rw.removals > 16 && rw.removals*2 > len(rw.all) {
		rw.prune()
	}
}

// resourceWatch fans one store watch out to the clients watching a resource. Watchers of
// pods by node name are indexed by node, so a pod write reaches one kubelet, not all.
type resourceWatch struct {
	kind     *model.Kind
	all      []*watcher
	byNode   map[string][]*watcher
	removals int
}

type delivery struct {
	w  *watcher
	ev WatchEvent
}

func (s *Server) resourceWatch(k *model.Kind) (*resourceWatch, error) {
	if rw, ok := s.watches[k.Resource]; ok {
		return rw, nil
	}
	rw := &resourceWatch{kind: k, byNode: map[string][]*watcher{}}
	if _, err := s.store.Watch(storagePrefix(k, ""), 0, func(ev store.Event) { s.fanOut(rw, ev) }); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	s.watches[k.Resource] = rw
	return rw, nil
}

// events turns one store event into the watch event each candidate watcher should see.
func (rw *resourceWatch) deliveries(ev store.Event) []delivery {
	var cur, prev runtime.Object
	if ev.Type == store.Put {
		cur = ev.KV.Value.(runtime.Object)
	}
	if ev.PrevKV != nil {
		prev = ev.PrevKV.Value.(runtime.Object)
	}
	cands := rw.all
	if len(rw.byNode) > 0 {
		cands = append([]*watcher(nil), rw.all...)
		seen := ""
		for _, o := range []runtime.Object{cur, prev} {
			if pod, ok := o.(*corev1.Pod); ok && pod.Spec.NodeName != "" && pod.Spec.NodeName != seen {
				cands = append(cands, rw.byNode[pod.Spec.NodeName]...)
				seen = pod.Spec.NodeName
			}
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
	}
	var out []delivery
	for _, w := range cands {
		if w.stopped {
			continue
		}
		inPrev := prev != nil && w.sees(prev)
		inCur := cur != nil && w.sees(cur)
		switch {
		case inCur && inPrev:
			out = append(out, delivery{w, WatchEvent{watch.Modified, cur}})
		case inCur:
			out = append(out, delivery{w, WatchEvent{watch.Added, cur}})
		case inPrev:
			obj := prev
			if cur != nil {
				obj = cur // left the watch's selection: deleted from its point of view
			}
			out = append(out, delivery{w, WatchEvent{watch.Deleted, obj}})
		}
	}
	return out
}

func (w *watcher) sees(obj runtime.Object) bool {
	if w.ns != "" && accessor(obj).GetNamespace() != w.ns {
		return false
	}
	return w.filter.matches(obj)
}

// fanOut schedules delivery of one store event to every matching watcher after the watch
// latency, never before an earlier event's delivery.
func (s *Server) fanOut(rw *resourceWatch, ev store.Event) {
	ds := rw.deliveries(ev)
	if len(ds) == 0 {
		return
	}
	s.deliver(ds)
}

func (s *Server) deliver(ds []delivery) {
	at := s.clock.Now().Add(s.latency)
	if at.Before(s.lastDelivery) {
		at = s.lastDelivery
	}
	s.lastDelivery = at
	s.clock.At(at, func() {
		for _, d := range ds {
			switch {
			case d.w.stopped:
			case s.cut[d.w.node] && d.w.node != "":
				s.hold(d.w, d.ev)
			default:
				d.w.fn(d.ev)
			}
		}
	})
}

func (s *Server) addWatcher(k *model.Kind, ns, node string, f Filter, fromRV int64, fn func(WatchEvent)) (Watch, error) {
	if (f.NodeName != "" || f.Unassigned) && k.Resource != "pods" {
		return Watch{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: spec.nodeName (resource %s)", k.Resource))
	}
	rw, err := s.resourceWatch(k)
	if err != nil {
		return Watch{}, err
	}
	s.watcherSeq++
	w := &watcher{rw: rw, id: s.watcherSeq, ns: ns, filter: f, fn: fn, node: node}
	// Replay what happened after fromRV from the store's history before going live.
	if fromRV > 0 && fromRV < s.store.Rev() {
		var replay []delivery
		sw, err := s.store.Watch(storagePrefix(k, ns), fromRV+1, func(ev store.Event) {
			replay = append(replay, (&resourceWatch{kind: k, all: []*watcher{w}}).deliveries(ev)...)
		})
		if err != nil {
			if errors.Is(err, store.ErrCompacted) {
				return Watch{}, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", fromRV, s.store.CompactRevision()))
			}
			return Watch{}, apierrors.NewInternalError(err)
		}
		sw.Cancel()
		if len(replay) > 0 {
			s.deliver(replay)
		}
	}
	if f.NodeName != "" {
		rw.byNode[f.NodeName] = append(rw.byNode[f.NodeName], w)
	} else {
		rw.all = append(rw.all, w)
	}
	return Watch{w}, nil
}

// prune drops stopped watchers, so long runs do not accumulate them.
func (rw *resourceWatch) prune() {
	rw.removals = 0
	keep := rw.all[:0]
	for _, w := range rw.all {
		if !w.stopped {
			keep = append(keep, w)
		}
	}
	rw.all = keep
	for node, ws := range rw.byNode {
		k := ws[:0]
		for _, w := range ws {
			if !w.stopped {
				k = append(k, w)
			}
		}
		if len(k) == 0 {
			delete(rw.byNode, node)
		} else {
			rw.byNode[node] = k
		}
	}
}
