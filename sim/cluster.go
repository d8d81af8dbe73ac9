// Package sim assembles a simulated cluster: one event loop, the API server, the
// controller manager, the scheduler and one kubelet per node, each with its own identity,
// wired the way a real cluster is — every component talks only to the API server.
package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/controllers/nodelifecycle"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/metricsserver"
	"github.com/orrery-sim/orrery/sim/scheduler"
	"github.com/orrery-sim/orrery/sim/scheduler/extender"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// Config describes a cluster to build.
type Config struct {
	// Seed drives every random choice of the run.
	Seed uint64
	// Nodes are the nodes' objects (name, labels, capacity, taints), registered by their
	// kubelets at the start.
	Nodes []*corev1.Node
	// API configures the API server (watch latency, compaction).
	API apiserver.Options
	// NodeLifecycle overrides the node lifecycle controller's timings.
	NodeLifecycle nodelifecycle.Options
	// NodeIPAM sets the node IPAM controller's --cluster-cidr and node mask size.
	NodeIPAM nodeipam.Options
	// Scheduler configures the scheduler (decision log).
	Scheduler scheduler.Options
	// Profiles builds the scheduling profiles from the scheduler's handle; nil means
	// SchedulerConfig's profiles, or Kubernetes' default configuration (DefaultProfiles).
	Profiles func(h framework.Handle) ([]*framework.Profile, error)
	// DisabledControllers names controllers of the controller manager not to run (as
	// --controllers=-name does), e.g. for a test that runs its own instance.
	DisabledControllers []string
	// Loads are CPU demands on groups of pods over time, which the metrics server (and so
	// the HorizontalPodAutoscaler) sees shared among the ready pods.
	Loads []metricsserver.Load
	// Kubelet is the kubelet configuration every node starts from (its Node field is
	// ignored): image pulls, eviction thresholds, timings.
	Kubelet kubelet.Config
	// SchedulerConfig is a decoded KubeSchedulerConfiguration: its profiles (unless
	// Profiles is set) and its HTTP extenders.
	SchedulerConfig *configv1.KubeSchedulerConfiguration
	// Traffic, when set, runs kube-proxy on every node and sends request streams to
	// Services (see package proxy); nil runs neither.
	Traffic *TrafficConfig
	// Runtime, when set, makes each node's container runtime in place of the simulated
	// one (real mode's containerd runtime, see package realmode).
	Runtime func(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error)
}

// disabled reports whether the named controller is switched off.
func (cfg Config) disabled(name string) bool {
	for _, n := range cfg.DisabledControllers {
		if n == name {
			return true
		}
	}
	return false
}

// DefaultProfiles builds the profiles of a KubeSchedulerConfiguration with every field
// defaulted, as kube-scheduler runs without a configuration file.
func DefaultProfiles(h framework.Handle) ([]*framework.Profile, error) {
	cfg := &configv1.KubeSchedulerConfiguration{}
	schedconfig.SetDefaults(cfg)
	return schedconfig.BuildProfiles(cfg, plugins.All(), h)
}

// ProfilesFrom builds the profiles of a decoded configuration.
func ProfilesFrom(cfg *configv1.KubeSchedulerConfiguration) func(framework.Handle) ([]*framework.Profile, error) {
	return func(h framework.Handle) ([]*framework.Profile, error) {
		return schedconfig.BuildProfiles(cfg, plugins.All(), h)
	}
}

// Cluster is a running simulated cluster.
type Cluster struct {
	Loop      *loop.Loop
	Log       *eventlog.Log
	API       *apiserver.Server
	Admin     *apiserver.Client
	Scheduler *scheduler.Scheduler
	// Metrics is the metrics server (the resource metrics API the HPA reads).
	Metrics  *metricsserver.Server
	kubelets map[string]*kubelet.Kubelet
	// kubeletCfg is Config.Kubelet, the template of every node's kubelet.
	kubeletCfg kubelet.Config
	// runtimeFor is Config.Runtime.
	runtimeFor func(loop.Clock, kubelet.Config) (kubelet.Runtime, error)
	// watchExtra is the watch latency API server brown-outs add now.
	watchExtra time.Duration
	nodeNames  []string
	traffic    *traffic
}

// Actor is the identity the simulator records its own actions (faults) under.
const Actor = "orrery"

// New builds a cluster and starts every component at virtual time zero.
func New(cfg Config) (*Cluster, error) {
	l := loop.New(cfg.Seed)
	log := eventlog.New(l.Elapsed)
	return NewWithLog(cfg, l, log)
}

// NewWithLog builds a cluster on the given loop and event log (so that a caller can attach
// an output to the log before anything is recorded).
func NewWithLog(cfg Config, l *loop.Loop, log *eventlog.Log) (*Cluster, error) {
	api, err := apiserver.New(l, log, cfg.API)
	if err != nil {
		return nil, fmt.Errorf("start API server: %w", err)
	}
	if err := kubelet.ValidateEvictionHard(cfg.Kubelet.EvictionHard); err != nil {
		return nil, fmt.Errorf("kubelet configuration: %w", err)
	}
	c := &Cluster{Loop: l, Log: log, API: api, kubelets: map[string]*kubelet.Kubelet{}, kubeletCfg: cfg.Kubelet, runtimeFor: cfg.Runtime}
	c.Admin = api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})

	if err := c.initTraffic(cfg.Traffic); err != nil {
		return nil, err
	}
	// Kubelets first: they register the nodes.
	for _, n := range cfg.Nodes {
		if _, err := c.newKubelet(n); err != nil {
			return nil, err
		}
	}
	sort.Strings(c.nodeNames)
	for _, name := range c.nodeNames {
		if err := c.kubelets[name].Start(); err != nil {
			return nil, err
		}
	}

	c.Metrics = metricsserver.New(l, api.ClientFor(apiserver.User{Name: apiserver.MetricsServerUser}), c.scrapeTargets, cfg.Loads, 0)
	if err := c.Metrics.Start(); err != nil {
		return nil, fmt.Errorf("metrics server: %w", err)
	}
	cm, err := newControllerManager(l, log, api, cfg, c.Metrics)
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	if err := cm.start(); err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}

	build := cfg.Profiles
	schedOpts := cfg.Scheduler
	if sc := cfg.SchedulerConfig; sc != nil {
		if build == nil {
			build = ProfilesFrom(sc)
		}
		ext, err := schedconfig.BuildExtenders(sc)
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		schedOpts.Extenders = append(append([]*extender.Extender(nil), schedOpts.Extenders...), ext...)
	}
	if build == nil {
		build = DefaultProfiles
	}
	sched, err := scheduler.NewFromConfig(l, log, api.ClientFor(apiserver.User{Name: apiserver.SchedulerUser}), schedOpts, build)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	c.Scheduler = sched
	if err := c.Scheduler.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// scrapeTargets lists the kubelets in node name order, for the metrics server.
func (c *Cluster) scrapeTargets() []metricsserver.Kubelet {
	out := make([]metricsserver.Kubelet, 0, len(c.nodeNames))
	for _, n := range c.nodeNames {
		out = append(out, c.kubelets[n])
	}
	return out
}

// PodUsage returns the usage every running kubelet reports now, node by node in name
// order.
func (c *Cluster) PodUsage() []kubelet.PodUsage {
	var out []kubelet.PodUsage
	for _, n := range c.nodeNames {
		if k := c.kubelets[n]; k.Up() {
			out = append(out, k.PodUsage()...)
		}
	}
	return out
}

// newKubelet creates (without starting) the kubelet of node n.
func (c *Cluster) newKubelet(n *corev1.Node) (*kubelet.Kubelet, error) {
	if _, dup := c.kubelets[n.Name]; dup {
		return nil, fmt.Errorf("node %q is listed twice", n.Name)
	}
	// The kubelet's requests come from its node: a partition cuts them off.
	client := c.API.ClientOn(apiserver.NodeUser(n.Name), n.Name)
	kcfg := c.kubeletCfg
	kcfg.Node = n
	var base kubelet.Runtime = kubelet.NewSimRuntimeFor(c.Loop, kcfg)
	if c.runtimeFor != nil {
		var err error
		if base, err = c.runtimeFor(c.Loop, kcfg); err != nil {
			return nil, fmt.Errorf("node %s: runtime: %w", n.Name, err)
		}
	}
	rt, err := c.trackNode(n.Name, base)
	if err != nil {
		return nil, err
	}
	k := kubelet.New(c.Loop, c.Log, client, rt, kcfg)
	c.kubelets[n.Name] = k
	c.nodeNames = append(c.nodeNames, n.Name)
	return k, nil
}

// AddNode starts the kubelet of a new node, which registers it, as a node joining the
// cluster does.
func (c *Cluster) AddNode(n *corev1.Node) error {
	k, err := c.newKubelet(n)
	if err != nil {
		return fmt.Errorf("add node: %w", err)
	}
	sort.Strings(c.nodeNames)
	c.Log.Action(Actor, "NodeAdd", "nodes", "", n.Name, fmt.Sprintf("Node %s joins the cluster", n.Name))
	return k.Start()
}

// RemoveNode stops a node's kubelet and deletes its Node object, as decommissioning a
// machine does (its pods are left to the pod garbage collector).
func (c *Cluster) RemoveNode(name string) error {
	k, ok := c.kubelets[name]
	if !ok {
		return fmt.Errorf("remove node: no node %q", name)
	}
	c.Log.Action(Actor, "NodeRemove", "nodes", "", name, fmt.Sprintf("Node %s leaves the cluster", name))
	c.trafficNodeDown(name, true)
	k.Crash() // also when its kubelet was stopped: the machine is gone with its containers
	delete(c.kubelets, name)
	for i, n := range c.nodeNames {
		if n == name {
			c.nodeNames = append(c.nodeNames[:i], c.nodeNames[i+1:]...)
			break
		}
	}
	if _, err := c.Admin.Delete("nodes", "", name, apiserver.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove node %s: %w", name, err)
	}
	return nil
}

// NodeNames returns the cluster's nodes in name order.
func (c *Cluster) NodeNames() []string { return append([]string(nil), c.nodeNames...) }

// Apply creates each object as the cluster admin, or updates it if it exists, as
// `kubectl apply` would for these objects.
func (c *Cluster) Apply(objs ...runtime.Object) error {
	for _, obj := range objs {
		_, err := c.Admin.Create(obj)
		if apierrors.IsAlreadyExists(err) {
			err = c.update(obj)
		}
		if err != nil {
			m, _ := meta.Accessor(obj)
			return fmt.Errorf("apply %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, m.GetName(), err)
		}
	}
	return nil
}

func (c *Cluster) update(obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	k, err := model.KindOf(obj)
	if err != nil {
		return err
	}
	// As `kubectl apply` to an existing object: the manifest's fields are merged into the
	// live object (a strategic merge patch, lists merged by their keys), keeping what
	// controllers added (annotations, status) and with no resourceVersion check.
	cp := obj.DeepCopyObject()
	cm, _ := meta.Accessor(cp)
	cm.SetResourceVersion("")
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	_, err = c.Admin.Patch(k.Resource, m.GetNamespace(), m.GetName(), types.StrategicMergePatchType, data, "")
	return err
}

// CrashNode stops a node's kubelet and kills its containers.
func (c *Cluster) CrashNode(name string) error {
	k, ok := c.kubelets[name]
	if !ok {
		return fmt.Errorf("crash: no node %q", name)
	}
	c.Log.Action(Actor, "NodeCrash", "nodes", "", name, fmt.Sprintf("Node %s crashed: kubelet and containers gone", name))
	c.trafficNodeDown(name, false)
	k.Crash()
	return nil
}

// RecoverNode restarts a crashed node's kubelet.
func (c *Cluster) RecoverNode(name string) error {
	k, ok := c.kubelets[name]
	if !ok {
		return fmt.Errorf("recover: no node %q", name)
	}
	c.Log.Action(Actor, "NodeRecover", "nodes", "", name, fmt.Sprintf("Node %s is back: kubelet restarting", name))
	if err := k.Start(); err != nil {
		return err
	}
	return c.trafficNodeUp(name)
}

// RunFor advances the simulation by d of virtual time.
func (c *Cluster) RunFor(d time.Duration) { c.Loop.RunFor(d) }
