package proxy

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Cause is why a request failed.
type Cause string

// The causes of failed requests.
const (
	// CauseNoService: the proxy has no rules for the Service or port (unknown yet or any
	// more, headless, ExternalName, or not of the type the request comes through).
	CauseNoService Cause = "no-service"
	// CauseNoEndpoints: the rules have no usable endpoint — the connection is refused
	// (upstream's REJECT rule), or dropped for Local traffic policy without a local one.
	CauseNoEndpoints Cause = "no-endpoints"
	// CauseNodeDown: the endpoint's node is down (or no node is up to send from).
	CauseNodeDown Cause = "node-down"
	// CauseUnreachable: the endpoint's node or the request's node is cut off by a
	// network partition.
	CauseUnreachable Cause = "unreachable"
	// CauseRefused: nothing listens — the pod is gone, its container is not running, or
	// it has received SIGTERM.
	CauseRefused Cause = "refused"
	// CauseNotReady: the container runs but its application does not serve (yet, or any
	// more): before its profile's readyAfter, or after its readinessFailsAfter.
	CauseNotReady Cause = "not-ready"
)

// Causes lists every cause, in the order reports show them.
var Causes = []Cause{CauseNoService, CauseNoEndpoints, CauseNodeDown, CauseUnreachable, CauseRefused, CauseNotReady}

// Reality is what requests meet, as opposed to what proxies believe: which nodes are up
// or partitioned, and which containers serve. It learns the containers' lives from the
// kubelets' runtimes (Track) and tells its observer before anything changes, so that
// requests that arrived earlier are judged by the earlier state.
//
// A container serves from its start plus its usage profile's readyAfter until its
// readinessFailsAfter, and stops serving when it receives SIGTERM (the application closes
// its listener; one whose profile ignores SIGTERM serves until it is killed), exits, or
// its node crashes.
type Reality struct {
	clock   loop.Clock
	nodes   map[string]*nodeState
	pods    map[types.UID]*podState
	byID    map[string]*instance
	before  func()
	cutOff  func(node string) bool
	upNodes []string // cached, nil when stale
}

type nodeState struct {
	up, partitioned bool
	pods            map[types.UID]bool
}

type podState struct {
	uid  types.UID
	node string
	pod  *corev1.Pod
	ctrs map[string]*instance // the current instance of each container, by name
}

type instance struct {
	pod       *podState
	id, name  string
	profile   model.ContainerProfile
	started   bool
	startedAt time.Time
	stopped   bool // SIGTERM received (and not ignored)
	dead      bool
}

// NewReality returns an empty reality.
func NewReality(clock loop.Clock) *Reality {
	return &Reality{clock: clock, nodes: map[string]*nodeState{}, pods: map[types.UID]*podState{}, byID: map[string]*instance{}}
}

// SetBeforeChange registers fn to run just before anything changes.
func (r *Reality) SetBeforeChange(fn func()) { r.before = fn }

func (r *Reality) change(fn func()) {
	if r.before != nil {
		r.before()
	}
	fn()
}

func (r *Reality) node(name string) *nodeState {
	n := r.nodes[name]
	if n == nil {
		n = &nodeState{pods: map[types.UID]bool{}}
		r.nodes[name] = n
	}
	return n
}

// NodeUp records that a node runs (it joined, or recovered from a crash).
func (r *Reality) NodeUp(name string) {
	r.change(func() {
		r.node(name).up = true
		r.upNodes = nil
	})
}

// NodeDown records that a node crashed: its containers are gone with it.
func (r *Reality) NodeDown(name string) {
	r.change(func() {
		n := r.node(name)
		n.up = false
		r.killNode(name)
		r.upNodes = nil
	})
}

// NodeRemoved forgets a node that left the cluster.
func (r *Reality) NodeRemoved(name string) {
	r.change(func() {
		r.killNode(name)
		delete(r.nodes, name)
		r.upNodes = nil
	})
}

// SetPartitioned cuts a node off from every other node (or heals it): requests between
// it and another node fail, and load balancers stop sending to it.
func (r *Reality) SetPartitioned(name string, cut bool) {
	r.change(func() {
		r.node(name).partitioned = cut
		r.upNodes = nil
	})
}

// Up reports whether a node is up.
func (r *Reality) Up(name string) bool {
	n := r.nodes[name]
	return n != nil && n.up
}

// SetCutOff makes the nodes fn reports (the API server's cut-off nodes) partitioned as
// well. Nobody announces such a cut: the requests not yet processed when it happens (at
// most a tick's) are judged as cut off too; SetPartitioned before it keeps it exact.
func (r *Reality) SetCutOff(fn func(node string) bool) { r.cutOff = fn }

// Partitioned reports whether a node is cut off.
func (r *Reality) Partitioned(name string) bool {
	if n := r.nodes[name]; n != nil && n.partitioned {
		return true
	}
	return r.cutOff != nil && name != "" && r.cutOff(name)
}

// UpNodes returns the nodes that are up, in name order (shared: do not modify).
func (r *Reality) UpNodes() []string {
	if r.upNodes == nil {
		r.upNodes = []string{}
		for name, n := range r.nodes {
			if n.up {
				r.upNodes = append(r.upNodes, name)
			}
		}
		sort.Strings(r.upNodes)
	}
	return r.upNodes
}

func (r *Reality) killNode(name string) {
	n := r.nodes[name]
	if n == nil {
		return
	}
	for uid := range n.pods {
		if p := r.pods[uid]; p != nil {
			for _, inst := range p.ctrs {
				delete(r.byID, inst.id)
			}
		}
		delete(r.pods, uid)
	}
	n.pods = map[types.UID]bool{}
}

// Check judges a request routed from node from (the client's node, or the node an
// external request arrived at) to ep at time at: "" if it is served, else the cause.
func (r *Reality) Check(from string, external bool, ep Endpoint, at time.Time) Cause {
	if external && r.Partitioned(from) {
		return CauseUnreachable
	}
	p := r.pods[ep.PodUID]
	node := ep.Node
	if node == "" && p != nil {
		node = p.node
	}
	if n := r.nodes[node]; n != nil && !n.up || n == nil && node != "" {
		return CauseNodeDown
	}
	if node != from && (r.Partitioned(node) || r.Partitioned(from)) {
		return CauseUnreachable
	}
	if p == nil {
		return CauseRefused
	}
	for _, name := range servingContainers(p.pod, ep.Port) {
		inst := p.ctrs[name]
		if inst == nil || !inst.started || inst.stopped || inst.dead {
			return CauseRefused
		}
		up := at.Sub(inst.startedAt)
		if ra := inst.profile.ReadyAfter; ra != nil && up < *ra {
			return CauseNotReady
		}
		if fa := inst.profile.ReadinessFailsAfter; fa != nil && up >= *fa {
			return CauseNotReady
		}
	}
	return ""
}

// servingContainers names the containers that must serve a connection to port: the one
// declaring it as a containerPort (sidecars included), else every regular container.
func servingContainers(pod *corev1.Pod, port int32) []string {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			for _, cp := range list[i].Ports {
				if cp.ContainerPort == port {
					return []string{list[i].Name}
				}
			}
		}
	}
	out := make([]string, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		out[i] = pod.Spec.Containers[i].Name
	}
	return out
}

// Track wraps a node's container runtime so that Reality follows its containers.
func (r *Reality) Track(node string, rt kubelet.Runtime) kubelet.Runtime {
	return &trackedRuntime{Runtime: rt, r: r, node: node}
}

// trackedRuntime is a kubelet.Runtime that reports container starts, SIGTERMs and exits
// to Reality before the kubelet hears of them.
type trackedRuntime struct {
	kubelet.Runtime
	r    *Reality
	node string
}

var _ kubelet.Runtime = (*trackedRuntime)(nil)

// Unwrap returns the runtime Track wrapped.
func (t *trackedRuntime) Unwrap() kubelet.Runtime { return t.Runtime }

// Underlying returns the runtime under Track's wrapper (rt itself if not wrapped), e.g.
// to reach a *kubelet.SimRuntime through (*kubelet.Kubelet).Runtime().
func Underlying(rt kubelet.Runtime) kubelet.Runtime {
	if t, ok := rt.(*trackedRuntime); ok {
		return t.Runtime
	}
	return rt
}

func (t *trackedRuntime) StartContainer(cfg kubelet.ContainerConfig, started func(), exited func(kubelet.Exit)) {
	r := t.r
	inst := &instance{id: cfg.ID, name: cfg.Container.Name, profile: cfg.Profile}
	r.change(func() {
		p := r.pods[cfg.Pod.UID]
		if p == nil {
			p = &podState{uid: cfg.Pod.UID, node: t.node, ctrs: map[string]*instance{}}
			r.pods[p.uid] = p
			r.node(t.node).pods[p.uid] = true
		}
		p.pod = cfg.Pod
		if old := p.ctrs[inst.name]; old != nil {
			delete(r.byID, old.id)
		}
		inst.pod = p
		p.ctrs[inst.name] = inst
		r.byID[inst.id] = inst
	})
	t.Runtime.StartContainer(cfg, func() {
		r.change(func() { inst.started, inst.startedAt = true, r.clock.Now() })
		started()
	}, func(e kubelet.Exit) {
		r.change(func() { r.gone(inst) })
		exited(e)
	})
}

func (t *trackedRuntime) StopContainer(id string, grace time.Duration, done func(kubelet.Exit)) {
	r := t.r
	inst := r.byID[id]
	if inst != nil && !inst.stopped {
		if s := inst.profile.SIGTERM; s == nil || !s.Ignore || grace <= 0 {
			r.change(func() { inst.stopped = true })
		}
	}
	t.Runtime.StopContainer(id, grace, func(e kubelet.Exit) {
		if inst != nil && !inst.dead {
			r.change(func() { r.gone(inst) })
		}
		done(e)
	})
}

func (t *trackedRuntime) KillAll() {
	t.r.change(func() { t.r.killNode(t.node) })
	t.Runtime.KillAll()
}

// gone records an instance's end and forgets its pod once no container of it is left.
func (r *Reality) gone(inst *instance) {
	inst.dead = true
	delete(r.byID, inst.id)
	p := inst.pod
	if p.ctrs[inst.name] != inst {
		return
	}
	for _, other := range p.ctrs {
		if !other.dead {
			return
		}
	}
	delete(r.pods, p.uid)
	if n := r.nodes[p.node]; n != nil {
		delete(n.pods, p.uid)
	}
}
