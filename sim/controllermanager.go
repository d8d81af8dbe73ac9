package sim

import (
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/daemonset"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
	"github.com/orrery-sim/orrery/sim/controllers/disruption"
	"github.com/orrery-sim/orrery/sim/controllers/endpoints"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice"
	"github.com/orrery-sim/orrery/sim/controllers/garbagecollector"
	"github.com/orrery-sim/orrery/sim/controllers/job"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/controllers/nodelifecycle"
	"github.com/orrery-sim/orrery/sim/controllers/podautoscaler"
	"github.com/orrery-sim/orrery/sim/controllers/podgc"
	"github.com/orrery-sim/orrery/sim/controllers/replicaset"
	"github.com/orrery-sim/orrery/sim/controllers/tainteviction"
	"github.com/orrery-sim/orrery/sim/controllers/ttlafterfinished"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Controller names, as kube-controller-manager's --controllers flag spells them.
const (
	ControllerDeployment       = "deployment"
	ControllerReplicaSet       = "replicaset"
	ControllerDaemonSet        = "daemonset"
	ControllerJob              = "job-controller"
	ControllerTTLAfterFinished = "ttl-after-finished-controller"
	ControllerDisruption       = "disruption"
	ControllerHPA              = "horizontalpodautoscaling"
	ControllerEndpoints        = "endpoint"
	ControllerEndpointSlice    = "endpointslice"
	ControllerNodeIPAM         = "nodeipam"
	ControllerNodeLifecycle    = "nodelifecycle"
	ControllerTaintEviction    = "taint-eviction-controller"
	ControllerGarbageCollector = "garbagecollector"
	ControllerPodGC            = "podgc"
)

// controllerManager is kube-controller-manager: one shared informer per resource, read by
// every controller that needs it (as upstream's shared informer factory), and the
// controllers, all writing as system:kube-controller-manager.
type controllerManager struct {
	client    *apiserver.Client
	informers map[string]*informer.Informer
	// order is the informers' creation order, in which they start.
	order []*informer.Informer
	// starts run after the informers have synced, in registration order.
	starts []func() error
}

// newControllerManager builds the informers and controllers; nothing runs before start.
func newControllerManager(l *loop.Loop, log *eventlog.Log, api *apiserver.Server, cfg Config, metrics podautoscaler.MetricsSource) (*controllerManager, error) {
	m := &controllerManager{client: api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser}), informers: map[string]*informer.Informer{}}
	cm := m.client

	pods := m.informer("pods", "")
	pods.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	pods.AddIndex(tainteviction.IndexNodeName, tainteviction.NodeNameIndex)
	rss := m.informer("replicasets", "")
	rss.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	deploys := m.informer("deployments", "")
	nodes := m.informer("nodes", "")
	leases := m.informer("leases", apiserver.NodeLeaseNamespace)

	on := func(name string) bool { return !cfg.disabled(name) }

	if on(ControllerDisruption) {
		disruption.New(l, log, cm, m.informer("poddisruptionbudgets", ""), pods, rss, deploys, disruption.Options{})
	}
	if on(ControllerHPA) {
		podautoscaler.New(l, log, cm, m.informer("horizontalpodautoscalers", ""), pods, deploys, rss, metrics, podautoscaler.Options{})
	}
	if on(ControllerEndpointSlice) {
		endpointslice.New(l, log, cm, m.informer("services", ""), pods, m.informer("endpointslices", ""), nodes, endpointslice.Options{})
	}
	if on(ControllerEndpoints) {
		ep := endpoints.New(l, log, cm, m.informer("services", ""), pods, m.informer("endpoints", ""), endpoints.Options{})
		m.onStart(func() error { ep.Start(); return nil })
	}
	if on(ControllerNodeIPAM) {
		if _, err := nodeipam.New(l, log, cm, nodes, cfg.NodeIPAM); err != nil {
			return nil, err
		}
	}
	if on(ControllerDaemonSet) {
		revisions := m.informer("controllerrevisions", "")
		revisions.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
		daemonset.New(l, log, cm, m.informer("daemonsets", ""), pods, nodes, revisions)
	}
	if on(ControllerJob) {
		job.New(l, log, cm, m.informer("jobs", ""), pods)
	}
	if on(ControllerTTLAfterFinished) {
		ttlafterfinished.New(l, log, cm, m.informer("jobs", ""))
	}
	if on(ControllerGarbageCollector) {
		gc := garbagecollector.New(l, log, cm)
		m.onStart(gc.Start)
	}
	if on(ControllerPodGC) {
		pgc := podgc.New(l, log, cm, pods, nodes, podgc.Options{})
		m.onStart(func() error { pgc.Start(); return nil })
	}
	if on(ControllerReplicaSet) {
		replicaset.New(l, log, cm, rss, pods)
	}
	if on(ControllerDeployment) {
		deployment.New(l, log, cm, deploys, rss, pods)
	}
	if on(ControllerTaintEviction) {
		tainteviction.New(l, log, cm, pods, nodes)
	}
	if on(ControllerNodeLifecycle) {
		nlc := nodelifecycle.New(l, log, cm, nodes, leases, cfg.NodeLifecycle)
		m.onStart(func() error { nlc.Start(); return nil })
	}
	return m, nil
}

// informer returns the shared informer of resource in namespace ns ("" for all),
// creating it on first use.
func (m *controllerManager) informer(resource, ns string) *informer.Informer {
	key := resource + "/" + ns
	if inf, ok := m.informers[key]; ok {
		return inf
	}
	inf := informer.New(m.client, resource, ns, apiserver.Filter{})
	m.informers[key] = inf
	m.order = append(m.order, inf)
	return inf
}

// onStart registers fn to run once the informers have synced.
func (m *controllerManager) onStart(fn func() error) { m.starts = append(m.starts, fn) }

// start lists and watches every informer, then starts the periodic controllers.
func (m *controllerManager) start() error {
	for _, inf := range m.order {
		if err := inf.Start(); err != nil {
			return err
		}
	}
	for _, fn := range m.starts {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}
