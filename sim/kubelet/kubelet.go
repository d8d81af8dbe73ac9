// Package kubelet is Orrery's node agent: it registers its Node, renews its Lease and posts
// node status, runs the pods bound to its node through a container Runtime, reports their
// status back through the API server as system:node:<name>, and finishes their graceful
// deletion. A crash stops it and its containers; Stop stops the kubelet alone, its
// containers running on; a restart lists its pods again and adopts what still runs.
// Fault hooks crash a container, add memory or disk use outside pods and slow image
// pulls down.
//
// Pods run as upstream's kubelet runs them: admission re-checks a bound pod (resources,
// node affinity and selector, host ports, NoExecute taints, node pressure) and fails it
// with upstream's reason; images are pulled one at a time, each taking the registry
// latency plus its size over the node's bandwidth unless its layers are on the node; init
// containers run in order (restartable ones as sidecars), then the containers;
// restartPolicy with CrashLoopBackOff (the first restart at once, then 10s doubling to
// 5m, reset once a container ran 10m); startup, liveness and readiness probes;
// CreateContainerConfigError for missing ConfigMaps and Secrets; pod phases, container
// states and conditions; core/v1 Events (Pulling, Pulled, Created, Started, Killing,
// BackOff, Unhealthy, Failed, Evicted).
//
// The eviction manager watches memory.available and the node's filesystem against the
// hard thresholds (memory.available<100Mi, nodefs.available<10%, imagefs.available<15%
// by default), reports MemoryPressure and DiskPressure, and evicts one pod per round as
// upstream ranks them (usage over request, then priority, then usage above request).
//
// What a simulated container does comes from the pod annotation orrery.dev/usage, a YAML
// usage profile (see model.ParseUsageProfile and README.md):
//
//	metadata:
//	  annotations:
//	    orrery.dev/usage: |
//	      cpu: {spikes: {base: 100m, peak: 900m, every: 1m, for: 10s}}
//	      memory: {ramp: {from: 64Mi, to: 300Mi, over: 10m}}   # OOM-killed at the limit
//	      disk: 1Gi                                            # local ephemeral storage
//	      startup: 2s
//	      readyAfter: 15s
//	      sigterm: ignore
//	      containers: {sidecar: {cpu: 10m, memory: 32Mi}}
//
// A profile that does not parse makes the container wait in CreateContainerConfigError
// with a message naming the field.
package kubelet

import (
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/events"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Kubelet defaults, as upstream's.
const (
	// DefaultLeaseDuration is the node Lease's leaseDurationSeconds.
	DefaultLeaseDuration = 40 * time.Second
	// DefaultLeaseRenewInterval is 25% of the lease duration.
	DefaultLeaseRenewInterval = 10 * time.Second
	// DefaultNodeStatusUpdateFrequency is how often node status is computed.
	DefaultNodeStatusUpdateFrequency = 10 * time.Second
	// DefaultNodeStatusReportFrequency is how often unchanged node status is posted anyway.
	DefaultNodeStatusReportFrequency = 5 * time.Minute
)

// Config is one node: its object (labels, capacity, taints, podCIDR, addresses) and the
// kubelet's timings; zero fields take the defaults.
type Config struct {
	// Node is the node object the kubelet registers.
	Node *corev1.Node
	// LeaseDuration is the node Lease's leaseDurationSeconds.
	LeaseDuration time.Duration
	// LeaseRenewInterval is how often the Lease is renewed.
	LeaseRenewInterval time.Duration
	// NodeStatusUpdateFrequency is how often node status is computed.
	NodeStatusUpdateFrequency time.Duration
	// NodeStatusReportFrequency is how often unchanged node status is posted anyway.
	NodeStatusReportFrequency time.Duration
	// BackOffInitial and BackOffMax bound the CrashLoopBackOff and ImagePullBackOff delays.
	BackOffInitial, BackOffMax time.Duration
	// PodSyncRetry is how soon a pod whose sync failed (missing ConfigMap, bad profile) is
	// synced again.
	PodSyncRetry time.Duration
	// Images are the image sizes and pull speed of the simulated runtime, which
	// NewSimRuntimeFor applies.
	Images ImageOptions
	// SerializeImagePulls pulls one image at a time, the others waiting (upstream's
	// serializeImagePulls; nil means true).
	SerializeImagePulls *bool
	// MaxParallelImagePulls caps concurrent pulls when SerializeImagePulls is false (nil
	// or 0: no cap).
	MaxParallelImagePulls *int32
	// EvictionHard are the hard eviction thresholds, signal → quantity or percentage
	// (upstream's evictionHard); nil means DefaultEvictionHard, an empty map none.
	EvictionHard map[string]string
	// EvictionPressureTransitionPeriod is how long a pressure condition stays after its
	// signal last crossed a threshold.
	EvictionPressureTransitionPeriod time.Duration
	// EvictionMonitoringInterval is how often the eviction manager observes the node.
	EvictionMonitoringInterval time.Duration
}

// Kubelet is one node's agent.
type Kubelet struct {
	clock   loop.Clock
	log     *eventlog.Log
	client  *apiserver.Client
	runtime Runtime
	cfg     Config
	name    string
	user    string

	pods       *informer.Informer
	recorder   *events.Recorder
	puller     *imagePuller
	eviction   *evictionManager
	workers    map[string]*podWorker // by namespace/name
	backoff    *backOff
	ips        *ipAllocator
	gen        uint64 // bumped on stop: callbacks of an earlier life do nothing
	up         bool
	lastStatus time.Time
	// lease is the Lease the last renewal returned (nil: read it first).
	lease *coordinationv1.Lease
	// found are the runtime's containers listed at Start, by pod, until their pods are
	// seen (adopted) or the first housekeeping.
	found map[types.UID][]RuntimeContainer
	// outside is the node's memory and disk in use outside pods (AddNodeUsage); it
	// belongs to the machine, not to a life of the kubelet.
	outside Usage
}

// New returns the kubelet of cfg.Node, writing through client (system:node:<name>).
func New(clock loop.Clock, log *eventlog.Log, client *apiserver.Client, rt Runtime, cfg Config) *Kubelet {
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.LeaseRenewInterval <= 0 {
		cfg.LeaseRenewInterval = DefaultLeaseRenewInterval
	}
	if cfg.NodeStatusUpdateFrequency <= 0 {
		cfg.NodeStatusUpdateFrequency = DefaultNodeStatusUpdateFrequency
	}
	if cfg.NodeStatusReportFrequency <= 0 {
		cfg.NodeStatusReportFrequency = DefaultNodeStatusReportFrequency
	}
	if cfg.BackOffInitial <= 0 {
		cfg.BackOffInitial = DefaultBackOffInitial
	}
	if cfg.BackOffMax <= 0 {
		cfg.BackOffMax = DefaultBackOffMax
	}
	if cfg.PodSyncRetry <= 0 {
		cfg.PodSyncRetry = DefaultPodSyncRetry
	}
	if cfg.EvictionHard == nil {
		cfg.EvictionHard = DefaultEvictionHard()
	}
	if cfg.EvictionPressureTransitionPeriod <= 0 {
		cfg.EvictionPressureTransitionPeriod = DefaultEvictionPressureTransitionPeriod
	}
	if cfg.EvictionMonitoringInterval <= 0 {
		cfg.EvictionMonitoringInterval = DefaultEvictionMonitoringInterval
	}
	name := cfg.Node.Name
	return &Kubelet{clock: clock, log: log, client: client, runtime: rt, cfg: cfg, name: name, user: apiserver.NodeUserPrefix + name,
		recorder: events.New(clock, client, "kubelet", name), workers: map[string]*podWorker{}, ips: newIPAllocator(cfg.Node.Spec.PodCIDR)}
}

// Runtime returns the kubelet's container runtime.
func (k *Kubelet) Runtime() Runtime { return k.runtime }

// Name returns the node's name.
func (k *Kubelet) Name() string { return k.name }

// Up reports whether the kubelet is running.
func (k *Kubelet) Up() bool { return k.up }

// after schedules fn in this life of the kubelet only.
func (k *Kubelet) after(d time.Duration, fn func()) *loop.Timer {
	gen := k.gen
	return k.clock.After(d, func() {
		if k.gen == gen && k.up {
			fn()
		}
	})
}

// Start registers the node, starts heartbeats and begins running its pods. After Stop it
// adopts the containers still in the runtime (see Stop and README.md).
func (k *Kubelet) Start() error {
	if k.up {
		return nil
	}
	k.lease = nil // a new process knows no Lease yet
	thresholds, err := parseThresholds(k.cfg.EvictionHard)
	if err != nil {
		return fmt.Errorf("kubelet %s: %w", k.name, err)
	}
	k.up = true
	k.gen++
	k.backoff = newBackOff(k.cfg.BackOffInitial, k.cfg.BackOffMax)
	k.puller = newImagePuller(k)
	k.eviction = newEvictionManager(k, thresholds)
	if err := k.register(); err != nil {
		k.up = false
		return fmt.Errorf("kubelet %s: register: %w", k.name, err)
	}
	k.renewLease()
	k.found = k.listRuntime()
	k.pods = informer.New(k.client, "pods", "", apiserver.Filter{NodeName: k.name})
	k.pods.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { k.podChanged(obj.(*corev1.Pod)) },
		OnUpdate: func(_, obj runtime.Object) { k.podChanged(obj.(*corev1.Pod)) },
		OnDelete: func(obj runtime.Object) { k.podRemoved(obj.(*corev1.Pod)) },
	})
	if err := k.pods.Start(); err != nil {
		k.up = false
		k.found = nil
		return fmt.Errorf("kubelet %s: %w", k.name, err)
	}
	// Every pod on the node has its worker now: addresses held by others are free, and
	// containers of pods not seen are orphans for the first housekeeping.
	known := map[types.UID]bool{}
	for _, w := range k.workers {
		known[w.uid] = true
	}
	k.ips.retain(func(uid types.UID) bool { return known[uid] })
	if len(k.found) > 0 {
		k.after(DefaultHousekeepingPeriod, k.cleanupOrphans)
	}
	k.found = nil
	k.eviction.run()
	k.log.Action(k.user, "Starting", "nodes", "", k.name, "Starting kubelet.")
	return nil
}

// Crash stops the kubelet and kills its containers, as a node failure does (also after
// Stop); nothing is reported to the API server.
func (k *Kubelet) Crash() {
	if k.up {
		k.halt()
	}
	k.runtime.KillAll()
	k.ips.reset()
}

// Node condition reasons and the node events of their transitions, as upstream's kubelet.
const (
	ReasonKubeletHasSufficientMemory   = "KubeletHasSufficientMemory"
	ReasonKubeletHasInsufficientMemory = "KubeletHasInsufficientMemory"
	ReasonKubeletHasNoDiskPressure     = "KubeletHasNoDiskPressure"
	ReasonKubeletHasDiskPressure       = "KubeletHasDiskPressure"
	ReasonKubeletHasSufficientPID      = "KubeletHasSufficientPID"
	ReasonKubeletHasInsufficientPID    = "KubeletHasInsufficientPID"
)

// nodeConditionEvent names the node event of a pressure condition's reason ("" for
// others).
func nodeConditionEvent(reason string) string {
	switch reason {
	case ReasonKubeletHasSufficientMemory, ReasonKubeletHasNoDiskPressure, ReasonKubeletHasSufficientPID,
		ReasonKubeletHasInsufficientMemory, ReasonKubeletHasDiskPressure, ReasonKubeletHasInsufficientPID:
		return "Node" + strings.TrimPrefix(reason, "Kubelet")
	}
	return ""
}

// readyConditions are the node conditions the kubelet reports now: the eviction manager's
// pressure conditions and Ready.
func (k *Kubelet) readyConditions(now metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	memory := c(corev1.NodeMemoryPressure, corev1.ConditionFalse, ReasonKubeletHasSufficientMemory, "kubelet has sufficient memory available")
	if k.eviction.hasCondition(corev1.NodeMemoryPressure) {
		memory = c(corev1.NodeMemoryPressure, corev1.ConditionTrue, ReasonKubeletHasInsufficientMemory, "kubelet has insufficient memory available")
	}
	disk := c(corev1.NodeDiskPressure, corev1.ConditionFalse, ReasonKubeletHasNoDiskPressure, "kubelet has no disk pressure")
	if k.eviction.hasCondition(corev1.NodeDiskPressure) {
		disk = c(corev1.NodeDiskPressure, corev1.ConditionTrue, ReasonKubeletHasDiskPressure, "kubelet has disk pressure")
	}
	pid := c(corev1.NodePIDPressure, corev1.ConditionFalse, ReasonKubeletHasSufficientPID, "kubelet has sufficient PID available")
	if k.eviction.hasCondition(corev1.NodePIDPressure) {
		pid = c(corev1.NodePIDPressure, corev1.ConditionTrue, ReasonKubeletHasInsufficientPID, "kubelet has insufficient PID available")
	}
	return []corev1.NodeCondition{memory, disk, pid, c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")}
}

// register creates the Node, or on restart brings the existing one's status up to date.
func (k *Kubelet) register() error {
	now := metav1.NewTime(k.clock.Now())
	node := k.cfg.Node.DeepCopy()
	if node.Status.Allocatable == nil {
		node.Status.Allocatable = node.Status.Capacity.DeepCopy()
	}
	node.Status.Conditions = k.readyConditions(now)
	node.Status.Phase = ""
	_, err := k.client.Create(node)
	if apierrors.IsAlreadyExists(err) {
		err = k.postStatus(true)
	}
	if err == nil {
		k.lastStatus = k.clock.Now()
	}
	k.after(k.cfg.NodeStatusUpdateFrequency, k.statusLoop)
	return err
}

func (k *Kubelet) statusLoop() {
	_ = k.postStatus(false) // a failure is retried on the next period
	k.after(k.cfg.NodeStatusUpdateFrequency, k.statusLoop)
}

// postStatus posts node status when it changed or the report frequency has passed.
func (k *Kubelet) postStatus(force bool) error {
	obj, err := k.client.Get("nodes", "", k.name)
	if err != nil {
		return err
	}
	// Get returned a private copy: change it in place.
	next := obj.(*corev1.Node)
	now := metav1.NewTime(k.clock.Now())
	capacity, allocatable := k.cfg.Node.Status.Capacity, k.cfg.Node.Status.Allocatable
	if allocatable == nil {
		allocatable = capacity
	}
	changed := !sameResources(next.Status.Capacity, capacity) || !sameResources(next.Status.Allocatable, allocatable)
	if changed {
		next.Status.Capacity, next.Status.Allocatable = capacity.DeepCopy(), allocatable.DeepCopy()
	}
	want := k.readyConditions(now)
	var transitions []string // node events of pressure conditions that changed
	for i := range want {
		found := false
		for j := range next.Status.Conditions {
			cur := &next.Status.Conditions[j]
			if cur.Type != want[i].Type {
				continue
			}
			found = true
			if cur.Status != want[i].Status || cur.Reason != want[i].Reason {
				changed = true
				if ev := nodeConditionEvent(want[i].Reason); ev != "" && cur.Status != corev1.ConditionUnknown {
					transitions = append(transitions, ev)
				}
				*cur = want[i]
			} else {
				cur.LastHeartbeatTime = now
			}
		}
		if !found {
			next.Status.Conditions = append(next.Status.Conditions, want[i])
			changed = true
		}
	}
	if !force && !changed && k.clock.Now().Sub(k.lastStatus) < k.cfg.NodeStatusReportFrequency {
		return nil
	}
	if _, err := k.client.UpdateStatus(next); err != nil {
		return err
	}
	k.lastStatus = k.clock.Now()
	for _, ev := range transitions {
		msg := fmt.Sprintf("Node %s status is now: %s", k.name, ev)
		_ = k.recorder.Event(k.cfg.Node, corev1.EventTypeNormal, ev, msg)
		k.log.Action(k.user, ev, "nodes", "", k.name, msg)
	}
	return nil
}

// sameResources reports whether two resource lists hold the same quantities (as
// equality.Semantic compares them), without reflection: the kubelet checks every 10 s.
func sameResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if r, ok := b[name]; !ok || q.Cmp(r) != 0 {
			return false
		}
	}
	return true
}

// renewLease creates or renews the node's Lease, then schedules the next renewal.
func (k *Kubelet) renewLease() {
	now := metav1.NewMicroTime(k.clock.Now())
	secs := int32(k.cfg.LeaseDuration / time.Second)
	holder := k.name
	// As upstream's lease controller: renew from the Lease the last renewal returned,
	// optimistically; read it again only when there is none or that renewal failed.
	l := k.lease
	k.lease = nil
	if l == nil {
		obj, err := k.client.Get("leases", apiserver.NodeLeaseNamespace, k.name)
		switch {
		case apierrors.IsNotFound(err):
			created, err := k.client.Create(&coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Namespace: apiserver.NodeLeaseNamespace, Name: k.name},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &now},
			})
			if err == nil {
				k.lease = created.(*coordinationv1.Lease)
			}
		case err == nil:
			l = obj.(*coordinationv1.Lease)
		}
	}
	if l != nil {
		l.Spec.RenewTime = &now
		l.Spec.HolderIdentity = &holder
		l.Spec.LeaseDurationSeconds = &secs
		if updated, err := k.client.Update(l); err == nil { // a missed renewal is retried on the next interval
			k.lease = updated.(*coordinationv1.Lease)
		}
	}
	k.after(k.cfg.LeaseRenewInterval, k.renewLease)
}
