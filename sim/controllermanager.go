package sim

import (
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
	"github.com/orrery-sim/orrery/sim/controllers/disruption"
	"github.com/orrery-sim/orrery/sim/controllers/endpoints"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/controllers/nodelifecycle"
	"github.com/orrery-sim/orrery/sim/controllers/podautoscaler"
	"github.com/orrery-sim/orrery/sim/controllers/replicaset"
	"github.com/orrery-sim/orrery/sim/controllers/tainteviction"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
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

	pdbs := m.informer("poddisruptionbudgets", "")
	disruption.New(l, log, cm, pdbs, pods, rss, deploys, disruption.Options{})

	podautoscaler.New(l, log, cm, m.informer("horizontalpodautoscalers", ""), pods, deploys, rss, metrics, podautoscaler.Options{})

	services := m.informer("services", "")
	endpointslice.New(l, log, cm, services, pods, m.informer("endpointslices", ""), nodes, endpointslice.Options{})
	ep := endpoints.New(l, log, cm, services, pods, m.informer("endpoints", ""), endpoints.Options{})
	m.onStart(func() error { ep.Start(); return nil })
	if _, err := nodeipam.New(l, log, cm, nodes, nodeipam.Options{}); err != nil {
		return nil, err
	}

	replicaset.New(l, log, cm, rss, pods)
	deployment.New(l, log, cm, deploys, rss, pods)
	tainteviction.New(l, log, cm, pods, nodes)
	nlc := nodelifecycle.New(l, log, cm, nodes, leases, cfg.NodeLifecycle)
	m.onStart(func() error { nlc.Start(); return nil })
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
