// Package kubelet is Orrery's node agent: it registers its Node, renews its Lease and posts
// node status, runs the pods bound to its node through a container Runtime, reports their
// status back through the API server as system:node:<name>, and finishes their graceful
// deletion. A crash stops it and its containers; a restart lists its pods again.
package kubelet

import (
	"fmt"
	"sort"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
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

// Config is one node: its object (labels, capacity, taints) and the kubelet's timings.
type Config struct {
	Node                      *corev1.Node
	LeaseDuration             time.Duration
	LeaseRenewInterval        time.Duration
	NodeStatusUpdateFrequency time.Duration
	NodeStatusReportFrequency time.Duration
}

// podState is what the kubelet knows of one pod it runs.
type podState struct {
	uid        string
	containers map[string]bool // started containers by name
	starting   bool
	stopping   bool
	restarts   int32
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
	running    map[string]*podState
	gen        uint64 // bumped on stop: callbacks of an earlier life do nothing
	up         bool
	lastStatus time.Time
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
	name := cfg.Node.Name
	return &Kubelet{clock: clock, log: log, client: client, runtime: rt, cfg: cfg, name: name, user: apiserver.NodeUserPrefix + name, running: map[string]*podState{}}
}

// Name returns the node's name.
func (k *Kubelet) Name() string { return k.name }

// Up reports whether the kubelet is running.
func (k *Kubelet) Up() bool { return k.up }

// after schedules fn in this life of the kubelet only.
func (k *Kubelet) after(d time.Duration, fn func()) {
	gen := k.gen
	k.clock.After(d, func() {
		if k.gen == gen && k.up {
			fn()
		}
	})
}

// Start registers the node, starts heartbeats and begins running its pods.
func (k *Kubelet) Start() error {
	if k.up {
		return nil
	}
	k.up = true
	k.gen++
	if err := k.register(); err != nil {
		k.up = false
		return fmt.Errorf("kubelet %s: register: %w", k.name, err)
	}
	k.renewLease()
	k.pods = informer.New(k.client, "pods", "", apiserver.Filter{NodeName: k.name})
	k.pods.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { k.syncPod(obj.(*corev1.Pod)) },
		OnUpdate: func(_, obj runtime.Object) { k.syncPod(obj.(*corev1.Pod)) },
		OnDelete: func(obj runtime.Object) { k.podRemoved(obj.(*corev1.Pod)) },
	})
	if err := k.pods.Start(); err != nil {
		k.up = false
		return fmt.Errorf("kubelet %s: %w", k.name, err)
	}
	k.log.Action(k.user, "Starting", "nodes", "", k.name, "Starting kubelet.")
	return nil
}

// Crash stops the kubelet and kills its containers, as a node failure does; nothing is
// reported to the API server.
func (k *Kubelet) Crash() {
	if !k.up {
		return
	}
	k.up = false
	k.gen++
	k.pods.Stop()
	k.runtime.KillAll()
	clear(k.running)
}

func (k *Kubelet) readyConditions(now metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
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
	node := obj.(*corev1.Node)
	now := metav1.NewTime(k.clock.Now())
	next := node.DeepCopy()
	next.Status.Capacity = k.cfg.Node.Status.Capacity.DeepCopy()
	next.Status.Allocatable = k.cfg.Node.Status.Allocatable.DeepCopy()
	if next.Status.Allocatable == nil {
		next.Status.Allocatable = next.Status.Capacity.DeepCopy()
	}
	want := k.readyConditions(now)
	changed := false
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
	if !equality.Semantic.DeepEqual(next.Status.Allocatable, node.Status.Allocatable) || !equality.Semantic.DeepEqual(next.Status.Capacity, node.Status.Capacity) {
		changed = true
	}
	if !force && !changed && k.clock.Now().Sub(k.lastStatus) < k.cfg.NodeStatusReportFrequency {
		return nil
	}
	if _, err := k.client.UpdateStatus(next); err != nil {
		return err
	}
	k.lastStatus = k.clock.Now()
	return nil
}

// renewLease creates or renews the node's Lease, then schedules the next renewal.
func (k *Kubelet) renewLease() {
	now := metav1.NewMicroTime(k.clock.Now())
	secs := int32(k.cfg.LeaseDuration / time.Second)
	holder := k.name
	obj, err := k.client.Get("leases", apiserver.NodeLeaseNamespace, k.name)
	switch {
	case apierrors.IsNotFound(err):
		_, _ = k.client.Create(&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: apiserver.NodeLeaseNamespace, Name: k.name},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &now},
		})
	case err == nil:
		l := obj.(*coordinationv1.Lease)
		l.Spec.RenewTime = &now
		l.Spec.HolderIdentity = &holder
		l.Spec.LeaseDurationSeconds = &secs
		_, _ = k.client.Update(l) // a missed renewal is retried on the next interval
	}
	k.after(k.cfg.LeaseRenewInterval, k.renewLease)
}

// --- pods

func containerID(pod *corev1.Pod, name string) string {
	return string(pod.UID) + "/" + name
}

// syncPod drives one pod towards what its object says: start it, or finish its deletion.
func (k *Kubelet) syncPod(pod *corev1.Pod) {
	key := informer.Key(pod)
	st := k.running[key]
	if st != nil && st.uid != string(pod.UID) { // a new pod with the same name
		st = nil
	}
	if pod.DeletionTimestamp != nil {
		k.terminate(pod, st)
		return
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	if st != nil {
		return // already starting or running
	}
	if reason, msg := k.admit(pod); reason != "" {
		k.reject(pod, reason, msg)
		return
	}
	st = &podState{uid: string(pod.UID), containers: map[string]bool{}, starting: true}
	if pod.Status.Phase == corev1.PodRunning { // restarted kubelet: the containers died with the node
		for _, cs := range pod.Status.ContainerStatuses {
			st.restarts += cs.RestartCount + 1
		}
	}
	k.running[key] = st
	k.startPod(pod, st)
}

// admit checks the pod fits the node next to the pods already admitted, as the kubelet's
// admission does; it returns upstream's reason (OutOfcpu, ...) and message on rejection.
func (k *Kubelet) admit(pod *corev1.Pod) (string, string) {
	alloc := framework.NewResource(k.allocatable())
	var used framework.Resource
	n := int64(0)
	k.pods.Range(func(obj runtime.Object) bool {
		p := obj.(*corev1.Pod)
		if p.UID != pod.UID && k.running[informer.Key(p)] != nil {
			pi := framework.NewPodInfo(p)
			used.AddResource(&pi.Requests, 1)
			n++
		}
		return true
	})
	req := framework.NewPodInfo(pod).Requests
	if alloc.AllowedPodNumber > 0 && n+1 > alloc.AllowedPodNumber {
		return "OutOfpods", fmt.Sprintf("Node didn't have enough resource: pods, requested: 1, used: %d, capacity: %d", n, alloc.AllowedPodNumber)
	}
	check := func(name string, r, u, c int64) (string, string) {
		if r > 0 && r > c-u {
			return "OutOf" + name, fmt.Sprintf("Pod was rejected: Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, r, u, c)
		}
		return "", ""
	}
	if reason, msg := check("cpu", req.MilliCPU, used.MilliCPU, alloc.MilliCPU); reason != "" {
		return reason, msg
	}
	return check("memory", req.Memory, used.Memory, alloc.Memory)
}

func (k *Kubelet) allocatable() corev1.ResourceList {
	if k.cfg.Node.Status.Allocatable != nil {
		return k.cfg.Node.Status.Allocatable
	}
	return k.cfg.Node.Status.Capacity
}

func (k *Kubelet) reject(pod *corev1.Pod, reason, msg string) {
	next := pod.DeepCopy()
	next.Status.Phase = corev1.PodFailed
	next.Status.Reason = reason
	next.Status.Message = msg
	_, _ = k.client.UpdateStatus(next)
	k.log.Action(k.user, reason, "pods", pod.Namespace, pod.Name, msg)
}

// startPod pulls every image, then starts the containers, reporting status on the way.
func (k *Kubelet) startPod(pod *corev1.Pod, st *podState) {
	k.updatePodStatus(pod, st)
	remaining := len(pod.Spec.Containers)
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		key, uid := informer.Key(pod), pod.UID
		k.runtime.PullImage(c.Image, c.ImagePullPolicy, func(err error) {
			cur := k.running[key]
			if !k.up || cur != st || cur.stopping {
				return
			}
			if err != nil {
				k.log.Action(k.user, "Failed", "pods", pod.Namespace, pod.Name, fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
				return
			}
			k.runtime.StartContainer(string(uid)+"/"+c.Name, c, func() {
				if !k.up || k.running[key] != st || st.stopping {
					return
				}
				st.containers[c.Name] = true
				remaining--
				if remaining == 0 {
					st.starting = false
					if obj, ok := k.pods.Get(pod.Namespace, pod.Name); ok {
						p := obj.(*corev1.Pod)
						k.updatePodStatus(p, st)
						k.log.Action(k.user, "Started", "pods", p.Namespace, p.Name, fmt.Sprintf("Started pod %s/%s on %s", p.Namespace, p.Name, k.name))
					}
				}
			}, func(int32, string) {})
		})
	}
}

// updatePodStatus writes the pod's phase, conditions and container statuses as the kubelet
// reports them: Pending with ContainerCreating while starting, Running and Ready after.
func (k *Kubelet) updatePodStatus(pod *corev1.Pod, st *podState) {
	now := metav1.NewTime(k.clock.Now())
	next := pod.DeepCopy()
	s := &next.Status
	running := !st.starting && len(st.containers) == len(pod.Spec.Containers)
	ready := corev1.ConditionFalse
	if running {
		s.Phase = corev1.PodRunning
		ready = corev1.ConditionTrue
	} else {
		s.Phase = corev1.PodPending
	}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	s.HostIP = ""
	setPodCondition(s, corev1.PodReadyToStartContainers, corev1.ConditionTrue, now)
	setPodCondition(s, corev1.PodInitialized, corev1.ConditionTrue, now)
	setPodCondition(s, corev1.ContainersReady, ready, now)
	setPodCondition(s, corev1.PodReady, ready, now)
	s.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, RestartCount: st.restarts, Ready: running}
		if running {
			started := true
			cs.Started = &started
			cs.ContainerID = "sim://" + containerID(pod, c.Name)
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	_, _ = k.client.UpdateStatus(next) // a conflict means a newer pod object is on its way
}

func setPodCondition(s *corev1.PodStatus, t corev1.PodConditionType, status corev1.ConditionStatus, now metav1.Time) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != status {
				s.Conditions[i].Status = status
				s.Conditions[i].LastTransitionTime = now
			}
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, LastTransitionTime: now})
}

// terminate stops a pod being deleted within its grace period, then confirms the deletion
// to the API server (delete with grace 0 and the pod's UID as precondition).
func (k *Kubelet) terminate(pod *corev1.Pod, st *podState) {
	key := informer.Key(pod)
	if st != nil && st.stopping {
		return
	}
	grace := time.Duration(0)
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	finish := func() {
		delete(k.running, key)
		zero := int64(0)
		uid := pod.UID
		_, err := k.client.Delete("pods", pod.Namespace, pod.Name, apiserver.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err == nil {
			k.log.Action(k.user, "Killing", "pods", pod.Namespace, pod.Name, fmt.Sprintf("Stopped pod %s/%s", pod.Namespace, pod.Name))
		}
	}
	if st == nil || len(st.containers) == 0 {
		k.after(0, finish)
		if st != nil {
			st.stopping = true
		}
		return
	}
	st.stopping = true
	left := len(st.containers)
	for _, name := range sortedNames(st.containers) {
		k.runtime.StopContainer(containerID(pod, name), grace, func(int32) {
			if !k.up {
				return
			}
			left--
			if left == 0 {
				finish()
			}
		})
	}
}

// sortedNames lists started containers in name order, so stops are scheduled
// deterministically.
func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// podRemoved forgets a pod deleted from the API (its containers are stopped if any).
func (k *Kubelet) podRemoved(pod *corev1.Pod) {
	key := informer.Key(pod)
	st := k.running[key]
	if st == nil || st.uid != string(pod.UID) {
		return
	}
	delete(k.running, key)
	for _, name := range sortedNames(st.containers) {
		k.runtime.StopContainer(containerID(pod, name), 0, func(int32) {})
	}
}
