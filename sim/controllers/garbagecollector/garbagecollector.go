// Package garbagecollector is kube-controller-manager's garbage collector: it watches every
// kind that can own or be owned, keeps a graph of owners and dependents by UID from their
// ownerReferences, and
//   - deletes an object once every owner it names is gone (checked by a live GET, never
//     from the cache alone);
//   - for an owner deleted in the foreground (the foregroundDeletion finalizer), deletes its
//     dependents first — in the foreground again for dependents that have dependents — and
//     removes the finalizer once no dependent with blockOwnerDeletion remains;
//   - for an owner deleted with the orphan finalizer, removes the ownerReferences pointing
//     at it from its dependents, then the finalizer.
//
// It follows upstream's GraphBuilder and attemptToDelete/attemptToOrphan workers; graph
// changes are applied as the informers deliver them, and the two work queues run on the
// event loop.
package garbagecollector

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Names and limits, as upstream's.
const (
	// Component is the event source of the garbage collector's Events.
	Component = "garbage-collector-controller"
	// ReasonOwnerRefInvalidNamespace is the Warning recorded for a dependent whose owner
	// lives in another namespace.
	ReasonOwnerRefInvalidNamespace = "OwnerRefInvalidNamespace"
	// FinalizerRemovalAttempts bounds the conflict retries of a finalizer removal
	// (client-go's retry.DefaultBackoff steps).
	FinalizerRemovalAttempts = 4
)

// ignoredResources are never watched (upstream's DefaultIgnoredResources).
var ignoredResources = map[string]bool{"events": true}

// Controller is the garbage collector.
type Controller struct {
	clock     loop.Clock
	log       *eventlog.Log
	client    *apiserver.Client
	recorder  *events.Recorder
	informers []*informer.Informer
	identity  string
	// graph maps UIDs to nodes: observed objects and the virtual owners they name.
	graph           map[types.UID]*node
	attemptToDelete *controllers.Queue
	attemptToOrphan *controllers.Queue
}

// New returns the garbage collector writing through client (the controller manager's
// identity), with one informer of its own per resource Orrery serves (events excepted).
// Nothing runs before Start.
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client) *Controller {
	c := &Controller{
		clock: clock, log: log, client: client, identity: apiserver.ControllerManagerUser,
		recorder: events.New(clock, client, Component, ""),
		graph:    map[types.UID]*node{},
	}
	c.attemptToDelete = controllers.NewQueue(clock, c.attemptToDeleteWorker)
	c.attemptToOrphan = controllers.NewQueue(clock, c.attemptToOrphanWorker)
	for _, k := range model.Kinds() {
		if ignoredResources[k.Resource] {
			continue
		}
		k := k
		inf := informer.New(client, k.Resource, "", apiserver.Filter{})
		inf.AddHandler(informer.Handler{
			OnAdd:    func(obj runtime.Object) { c.processGraphChange(k, nil, obj, false) },
			OnUpdate: func(old, obj runtime.Object) { c.processGraphChange(k, old, obj, false) },
			OnDelete: func(obj runtime.Object) { c.processGraphChange(k, nil, obj, true) },
		})
		c.informers = append(c.informers, inf)
	}
	return c
}

// Start lists and watches every resource, building the graph.
func (c *Controller) Start() error {
	for _, inf := range c.informers {
		if err := inf.Start(); err != nil {
			return fmt.Errorf("garbage collector: %w", err)
		}
	}
	return nil
}

// GraphHasUID reports whether the graph holds a node (observed or virtual) for uid.
func (c *Controller) GraphHasUID(uid types.UID) bool {
	_, ok := c.graph[uid]
	return ok
}

// enqueueDelete queues a node for attemptToDelete.
func (c *Controller) enqueueDelete(n *node) { c.attemptToDelete.Add(string(n.identity.UID)) }
