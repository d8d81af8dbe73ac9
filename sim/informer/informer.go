// Package informer is the client side of list+watch: a read cache of one resource kept in
// step with the API server by a watch, with indexes and change handlers, as client-go's
// shared informers are. Components read from informers and write through the API server.
//
// Cached objects are shared with the API server and with other readers: never change one;
// DeepCopy it first.
package informer

import (
	"fmt"
	"sort"

	"github.com/google/btree"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// Handler receives the informer's changes. Any field may be nil.
type Handler struct {
	OnAdd    func(obj runtime.Object)
	OnUpdate func(old, cur runtime.Object)
	OnDelete func(obj runtime.Object)
}

// IndexFunc returns the index values of an object.
type IndexFunc func(obj runtime.Object) []string

type entry struct {
	key string
	obj runtime.Object
}

func lessEntry(a, b entry) bool { return a.key < b.key }

// Informer caches one resource (optionally one namespace and a filter).
type Informer struct {
	client   *apiserver.Client
	resource string
	ns       string
	filter   apiserver.Filter
	items    *btree.BTreeG[entry]
	handlers []Handler
	indexers map[string]IndexFunc
	indices  map[string]map[string]map[string]struct{}
	watch    apiserver.Watch
	started  bool
}

// New returns an informer over resource in namespace ns ("" for all) with filter f.
func New(c *apiserver.Client, resource, ns string, f apiserver.Filter) *Informer {
	return &Informer{
		client: c, resource: resource, ns: ns, filter: f,
		items:    btree.NewG(16, lessEntry),
		indexers: map[string]IndexFunc{},
		indices:  map[string]map[string]map[string]struct{}{},
	}
}

// Key returns the cache key of an object: namespace/name, or name for cluster objects.
func Key(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	if ns := m.GetNamespace(); ns != "" {
		return ns + "/" + m.GetName()
	}
	return m.GetName()
}

// SplitKey splits a cache key into namespace and name.
func SplitKey(key string) (ns, name string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

// AddHandler registers h; handlers run in registration order.
func (i *Informer) AddHandler(h Handler) { i.handlers = append(i.handlers, h) }

// AddIndex registers an index; call before Start.
func (i *Informer) AddIndex(name string, fn IndexFunc) {
	i.indexers[name] = fn
	i.indices[name] = map[string]map[string]struct{}{}
}

// Start lists the resource into the cache (calling OnAdd for each object in key order) and
// watches for changes from the list's revision on.
func (i *Informer) Start() error {
	if i.started {
		return nil
	}
	list, err := i.client.List(i.resource, i.ns, i.filter, true)
	if err != nil {
		return fmt.Errorf("list %s: %w", i.resource, err)
	}
	i.started = true
	for _, obj := range list.Items {
		i.apply(watch.Added, obj)
	}
	w, err := i.client.Watch(i.resource, i.ns, i.filter, list.ResourceVersion, i.onEvent)
	if err != nil {
		i.started = false
		return fmt.Errorf("watch %s: %w", i.resource, err)
	}
	i.watch = w
	return nil
}

// Stop ends the watch and empties the cache without calling handlers; Start lists again.
func (i *Informer) Stop() {
	i.watch.Stop()
	i.started = false
	i.items.Clear(false)
	for name := range i.indices {
		i.indices[name] = map[string]map[string]struct{}{}
	}
}

func (i *Informer) onEvent(ev apiserver.WatchEvent) { i.apply(ev.Type, ev.Object) }

func (i *Informer) apply(t watch.EventType, obj runtime.Object) {
	key := Key(obj)
	old, had := i.items.Get(entry{key: key})
	switch t {
	case watch.Added, watch.Modified:
		if had {
			i.unindex(key, old.obj)
		}
		i.items.ReplaceOrInsert(entry{key, obj})
		i.index(key, obj)
		for _, h := range i.handlers {
			if had && h.OnUpdate != nil {
				h.OnUpdate(old.obj, obj)
			} else if !had && h.OnAdd != nil {
				h.OnAdd(obj)
			}
		}
	case watch.Deleted:
		if !had {
			return
		}
		i.unindex(key, old.obj)
		i.items.Delete(entry{key: key})
		for _, h := range i.handlers {
			if h.OnDelete != nil {
				h.OnDelete(obj)
			}
		}
	}
}

func (i *Informer) index(key string, obj runtime.Object) {
	for name, fn := range i.indexers {
		idx := i.indices[name]
		for _, v := range fn(obj) {
			set := idx[v]
			if set == nil {
				set = map[string]struct{}{}
				idx[v] = set
			}
			set[key] = struct{}{}
		}
	}
}

func (i *Informer) unindex(key string, obj runtime.Object) {
	for name, fn := range i.indexers {
		idx := i.indices[name]
		for _, v := range fn(obj) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// Get returns the cached object with the given namespace and name.
func (i *Informer) Get(ns, name string) (runtime.Object, bool) {
	key := name
	if ns != "" {
		key = ns + "/" + name
	}
	e, ok := i.items.Get(entry{key: key})
	return e.obj, ok
}

// Len returns the number of cached objects.
func (i *Informer) Len() int { return i.items.Len() }

// Range calls fn for cached objects in key order until it returns false.
func (i *Informer) Range(fn func(obj runtime.Object) bool) {
	i.items.Ascend(func(e entry) bool { return fn(e.obj) })
}

// List returns the cached objects in key order.
func (i *Informer) List() []runtime.Object {
	out := make([]runtime.Object, 0, i.items.Len())
	i.Range(func(obj runtime.Object) bool { out = append(out, obj); return true })
	return out
}

// ByIndex returns the objects whose index name has value v, in key order.
func (i *Informer) ByIndex(name, v string) []runtime.Object {
	set := i.indices[name][v]
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]runtime.Object, 0, len(keys))
	for _, k := range keys {
		if e, ok := i.items.Get(entry{key: k}); ok {
			out = append(out, e.obj)
		}
	}
	return out
}
