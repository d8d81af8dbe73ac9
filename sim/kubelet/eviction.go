package kubelet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Eviction signals, as upstream's kubelet names them.
const (
	SignalMemoryAvailable            = "memory.available"
	SignalAllocatableMemoryAvailable = "allocatableMemory.available"
	SignalNodeFsAvailable            = "nodefs.available"
	SignalNodeFsInodesFree           = "nodefs.inodesFree"
	SignalImageFsAvailable           = "imagefs.available"
	SignalImageFsInodesFree          = "imagefs.inodesFree"
	SignalContainerFsAvailable       = "containerfs.available"
	SignalContainerFsInodesFree      = "containerfs.inodesFree"
	SignalPIDAvailable               = "pid.available"
)

// signalOrder is every signal upstream accepts, in the order thresholds are evaluated
// (memory first, as upstream ranks it; the rest in a fixed order instead of upstream's
// map order).
var signalOrder = []string{SignalMemoryAvailable, SignalAllocatableMemoryAvailable, SignalNodeFsAvailable, SignalNodeFsInodesFree,
	SignalImageFsAvailable, SignalImageFsInodesFree, SignalContainerFsAvailable, SignalContainerFsInodesFree, SignalPIDAvailable}

// Eviction manager defaults, as upstream's kubelet.
const (
	// DefaultEvictionMonitoringInterval is how often the eviction manager observes the
	// node (the kubelet's housekeeping period).
	DefaultEvictionMonitoringInterval = 10 * time.Second
	// DefaultEvictionPressureTransitionPeriod is how long a pressure condition stays True
	// after its signal last crossed a threshold (evictionPressureTransitionPeriod).
	DefaultEvictionPressureTransitionPeriod = 5 * time.Minute
	// EvictionGracePeriod is the grace period override of a hard eviction
	// (immediateEvictionGracePeriodSeconds); the runtime still gives the process
	// MinimumGracePeriod between SIGTERM and SIGKILL.
	EvictionGracePeriod = time.Second
	// EvictionCleanupPoll and EvictionCleanupTimeout: after an eviction the manager checks
	// every poll whether the pod's containers are gone, and observes again as soon as they
	// are (or when the timeout passes) instead of waiting for the next interval.
	EvictionCleanupPoll    = time.Second
	EvictionCleanupTimeout = 30 * time.Second
	// ImageMinimumGCAge is how long an unused image stays before image garbage collection
	// may remove it (imageMinimumGCAge).
	ImageMinimumGCAge = 2 * time.Minute
)

// Eviction reasons and events, as upstream's.
const (
	// ReasonEvicted is the status reason of an evicted pod and of a pod rejected under
	// pressure.
	ReasonEvicted = "Evicted"
	// EventEvictionThresholdMet is the node event of an eviction round.
	EventEvictionThresholdMet = "EvictionThresholdMet"
	// ReasonTerminationByKubelet is the DisruptionTarget condition's reason.
	ReasonTerminationByKubelet = "TerminationByKubelet"
)

// DefaultEvictionHard returns upstream's default hard eviction thresholds on Linux.
func DefaultEvictionHard() map[string]string {
	return map[string]string{
		SignalMemoryAvailable:  "100Mi",
		SignalNodeFsAvailable:  "10%",
		SignalNodeFsInodesFree: "5%",
		SignalImageFsAvailable: "15%",
	}
}

// threshold is one hard eviction threshold: the signal below a quantity or a share of
// its capacity.
type threshold struct {
	signal     string
	quantity   *resource.Quantity
	percentage float32
}

// value is the threshold's quantity for a signal of the given capacity, as upstream's
// GetThresholdQuantity computes it.
func (t threshold) value(capacity int64) *resource.Quantity {
	if t.quantity != nil {
		q := t.quantity.DeepCopy()
		return &q
	}
	return resource.NewQuantity(int64(float64(capacity)*float64(t.percentage)), resource.BinarySI)
}

// ValidateEvictionHard checks an evictionHard map as the kubelet parses it.
func ValidateEvictionHard(m map[string]string) error {
	_, err := parseThresholds(m)
	return err
}

// parseThresholds parses evictionHard statements (signal → "100Mi" or "10%") as upstream;
// 0% and 100% are ignored.
func parseThresholds(m map[string]string) ([]threshold, error) {
	var out []threshold
	for _, signal := range sortedKeys(m) {
		val := m[signal]
		known := false
		for _, s := range signalOrder {
			known = known || s == signal
		}
		if !known {
			return nil, fmt.Errorf("evictionHard: unsupported eviction signal %v", signal)
		}
		if strings.HasSuffix(val, "%") {
			if val == "0%" || val == "100%" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 32)
			if err != nil {
				return nil, fmt.Errorf("evictionHard: %s: %w", signal, err)
			}
			p := float32(f) / 100
			if p < 0 || p > 1 {
				return nil, fmt.Errorf("evictionHard: eviction percentage threshold %v must be between 0%% and 100%%: %s", signal, val)
			}
			out = append(out, threshold{signal: signal, percentage: p})
			continue
		}
		q, err := resource.ParseQuantity(val)
		if err != nil {
			return nil, fmt.Errorf("evictionHard: %s: %w", signal, err)
		}
		if q.Sign() <= 0 {
			return nil, fmt.Errorf("evictionHard: eviction threshold %v must be positive: %s", signal, &q)
		}
		out = append(out, threshold{signal: signal, quantity: &q})
	}
	sort.SliceStable(out, func(i, j int) bool { return signalRank(out[i].signal) < signalRank(out[j].signal) })
	return out, nil
}

func signalRank(s string) int {
	for i, o := range signalOrder {
		if o == s {
			return i
		}
	}
	return len(signalOrder)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// signalResource is the resource a signal reclaims ("" for signals without one).
func signalResource(s string) corev1.ResourceName {
	switch s {
	case SignalMemoryAvailable, SignalAllocatableMemoryAvailable:
		return corev1.ResourceMemory
	case SignalNodeFsAvailable, SignalImageFsAvailable, SignalContainerFsAvailable:
		return corev1.ResourceEphemeralStorage
	case SignalNodeFsInodesFree, SignalImageFsInodesFree, SignalContainerFsInodesFree:
		return "inodes"
	case SignalPIDAvailable:
		return "pids"
	}
	return ""
}

// signalCondition is the node condition a signal's threshold sets.
func signalCondition(s string) corev1.NodeConditionType {
	switch signalResource(s) {
	case corev1.ResourceMemory:
		return corev1.NodeMemoryPressure
	case "pids":
		return corev1.NodePIDPressure
	}
	return corev1.NodeDiskPressure
}

// observation is one signal's value now.
type observation struct {
	available, capacity int64
}

// podStats is a pod's usage now: its running containers' memory working set and local
// storage.
type podStats struct {
	memory, disk int64
	containers   []ContainerUsage
}

// evictionManager is upstream's eviction manager with hard thresholds: every monitoring
// interval it observes the node's signals, sets the pressure conditions (kept for the
// transition period after the signal clears), reclaims node-level resources (unused
// images for disk) and otherwise evicts one pod, ranked as upstream ranks them.
type evictionManager struct {
	k            *Kubelet
	thresholds   []threshold
	interval     time.Duration
	transition   time.Duration
	lastObserved map[corev1.NodeConditionType]time.Time
	conditions   []corev1.NodeConditionType
	timer        *loop.Timer
}

func newEvictionManager(k *Kubelet, thresholds []threshold) *evictionManager {
	m := &evictionManager{k: k, thresholds: thresholds, interval: k.cfg.EvictionMonitoringInterval, transition: k.cfg.EvictionPressureTransitionPeriod,
		lastObserved: map[corev1.NodeConditionType]time.Time{}}
	return m
}

// hasCondition reports whether the manager currently reports the pressure condition.
func (m *evictionManager) hasCondition(c corev1.NodeConditionType) bool {
	if m == nil {
		return false
	}
	for _, have := range m.conditions {
		if have == c {
			return true
		}
	}
	return false
}

// run observes and acts once, then schedules the next round: after an eviction as soon as
// the pod is cleaned up, else after the monitoring interval.
func (m *evictionManager) run() {
	if evicted := m.synchronize(); len(evicted) > 0 {
		m.waitForCleanup(evicted, m.k.clock.Now().Add(EvictionCleanupTimeout))
		return
	}
	m.timer = m.k.after(m.interval, m.run)
}

func (m *evictionManager) waitForCleanup(pods []*podWorker, deadline time.Time) {
	m.timer = m.k.after(EvictionCleanupPoll, func() {
		if !m.k.clock.Now().Before(deadline) || allCleanedUp(pods) {
			m.run()
			return
		}
		m.waitForCleanup(pods, deadline)
	})
}

func allCleanedUp(pods []*podWorker) bool {
	for _, w := range pods {
		if w.current() && !w.allStopped() {
			return false
		}
	}
	return true
}

// synchronize is one round of upstream's synchronize; it returns the pods it evicted.
func (m *evictionManager) synchronize() []*podWorker {
	k, now := m.k, m.k.clock.Now()
	obs, stats := m.observe()
	met := m.met(obs)
	for _, t := range met {
		m.lastObserved[signalCondition(t.signal)] = now
	}
	m.conditions = nil
	for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		if at, ok := m.lastObserved[c]; ok && now.Sub(at) < m.transition {
			m.conditions = append(m.conditions, c)
		}
	}
	active := k.activeWorkers()
	if evicted := m.localStorageEviction(active, stats); len(evicted) > 0 {
		return evicted
	}
	if len(met) == 0 {
		return nil
	}
	th := met[0] // memory first; thresholds without a resource are not reclaimed
	res := signalResource(th.signal)
	_ = k.recorder.Eventf(k.cfg.Node, corev1.EventTypeWarning, EventEvictionThresholdMet, "Attempting to reclaim %s", res)
	if res == corev1.ResourceEphemeralStorage && m.reclaimImages() {
		return nil
	}
	if len(active) == 0 {
		return nil
	}
	rankForEviction(active, res, stats)
	for _, w := range active {
		msg := evictionMessage(res, w, stats[w], met, obs)
		if m.evictPod(w, msg, true) {
			return []*podWorker{w}
		}
	}
	return nil
}

// met returns the thresholds the observations cross, in evaluation order.
func (m *evictionManager) met(obs map[string]observation) []threshold {
	var out []threshold
	for _, t := range m.thresholds {
		o, ok := obs[t.signal]
		if !ok {
			continue
		}
		if t.value(o.capacity).Cmp(*resource.NewQuantity(o.available, resource.BinarySI)) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// observe measures the signals: memory.available is the node's memory capacity minus the
// working set of every running container and of the usage outside pods (AddNodeUsage;
// upstream measures the whole node's working set against capacity); with an
// ephemeral-storage capacity, nodefs and imagefs are one filesystem holding the images,
// the containers' local storage and the usage outside pods. Inodes, PIDs and the
// allocatable signal are not observed.
func (m *evictionManager) observe() (map[string]observation, map[*podWorker]*podStats) {
	k := m.k
	node, stats := k.measure()
	obs := map[string]observation{}
	capacity := k.cfg.Node.Status.Capacity
	if q, ok := capacity[corev1.ResourceMemory]; ok {
		obs[SignalMemoryAvailable] = observation{available: q.Value() - node.MemoryBytes, capacity: q.Value()}
	}
	if q, ok := capacity[corev1.ResourceEphemeralStorage]; ok {
		o := observation{available: max(q.Value()-node.DiskBytes, 0), capacity: q.Value()}
		obs[SignalNodeFsAvailable] = o
		obs[SignalImageFsAvailable] = o
		obs[SignalContainerFsAvailable] = o
	}
	return obs, stats
}

// measure returns the node's usage now (the pods' CPU; the working set of the pods and
// of what runs outside them; the filesystem holding the images, the pods' local storage
// and the usage outside pods) and each pod's usage.
func (k *Kubelet) measure() (Usage, map[*podWorker]*podStats) {
	stats := map[*podWorker]*podStats{}
	node := Usage{MemoryBytes: max(k.outside.MemoryBytes, 0), DiskBytes: max(k.outside.DiskBytes, 0)}
	for _, key := range sortedWorkerKeys(k.workers) {
		w := k.workers[key]
		ps := &podStats{}
		for _, c := range w.all() {
			if c.phase != cRunning {
				continue
			}
			if u, ok := k.runtime.Usage(c.id); ok {
				node.MilliCPU += u.MilliCPU
				ps.memory += u.MemoryBytes
				ps.disk += u.DiskBytes
				ps.containers = append(ps.containers, ContainerUsage{Name: c.spec.Name, Usage: u})
			}
		}
		node.MemoryBytes += ps.memory
		node.DiskBytes += ps.disk
		stats[w] = ps
	}
	for _, img := range k.runtime.Images() {
		node.DiskBytes += img.SizeBytes
	}
	return node, stats
}

func sortedWorkerKeys(workers map[string]*podWorker) []string {
	keys := make([]string, 0, len(workers))
	for key := range workers {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// activeWorkers are the pods eviction may pick: admitted, not finished and not being
// deleted, in namespace/name order.
func (k *Kubelet) activeWorkers() []*podWorker {
	var out []*podWorker
	for _, key := range sortedWorkerKeys(k.workers) {
		if w := k.workers[key]; !w.terminal && !w.terminating && !w.stopped {
			out = append(out, w)
		}
	}
	return out
}

// rankForEviction orders pods as upstream's rankMemoryPressure and rankDiskPressureFunc:
// pods whose usage exceeds their request first, then lower priority first, then larger
// usage above the request first.
func rankForEviction(pods []*podWorker, res corev1.ResourceName, stats map[*podWorker]*podStats) {
	usage := func(w *podWorker) int64 {
		if s := stats[w]; s != nil {
			if res == corev1.ResourceMemory {
				return s.memory
			}
			return s.disk
		}
		return 0
	}
	request := func(w *podWorker) int64 {
		q := resourcehelper.PodRequests(w.pod, resourcehelper.PodResourcesOptions{})[res]
		return q.Value()
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		ua, ub, ra, rb := usage(a), usage(b), request(a), request(b)
		if ea, eb := ua > ra, ub > rb; ea != eb {
			return ea
		}
		if pa, pb := corev1helpers.PodPriority(a.pod), corev1helpers.PodPriority(b.pod); pa != pb {
			return pa < pb
		}
		return ua-ra > ub-rb
	})
}

// evictionMessage is upstream's message for an eviction: the starved resource, the
// threshold and what is available, then each container using more than its request.
func evictionMessage(res corev1.ResourceName, w *podWorker, stats *podStats, met []threshold, obs map[string]observation) string {
	msg := fmt.Sprintf("The node was low on resource: %v. ", res)
	for _, t := range met {
		if signalResource(t.signal) != res {
			continue
		}
		if o, ok := obs[t.signal]; ok {
			msg += fmt.Sprintf("Threshold quantity: %v, available: %v. ", t.value(o.capacity).String(), resource.NewQuantity(o.available, resource.BinarySI).String())
			break
		}
	}
	if stats == nil {
		return msg
	}
	pod := w.pod
	if res == corev1.ResourceMemory && pod.Spec.Resources != nil {
		if req, ok := pod.Spec.Resources.Requests[res]; ok {
			msg += fmt.Sprintf("Pod %s was using %s, request is %s, has larger consumption of %v. ", pod.Name, resource.NewQuantity(stats.memory, resource.BinarySI).String(), req.String(), res)
		}
	}
	specs := append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, cu := range stats.containers {
		for _, c := range specs {
			if c.Name != cu.Name {
				continue
			}
			req := c.Resources.Requests[res]
			used := cu.MemoryBytes
			if res == corev1.ResourceEphemeralStorage {
				used = cu.DiskBytes
			}
			if q := resource.NewQuantity(used, resource.BinarySI); q.Cmp(req) > 0 {
				msg += fmt.Sprintf("Container %s was using %s, request is %s, has larger consumption of %v. ", c.Name, q.String(), req.String(), res)
			}
			break
		}
	}
	return msg
}

// isCriticalPod reports upstream's kubelet critical pods, which eviction never picks:
// mirror and static pods, and pods of system-critical priority or above.
func isCriticalPod(pod *corev1.Pod) bool {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	if src, ok := pod.Annotations["kubernetes.io/config.source"]; ok && src != "api" {
		return true
	}
	return pod.Spec.Priority != nil && *pod.Spec.Priority >= model.SystemCriticalPriority
}

// evictPod fails the pod with reason Evicted and kills its containers with the eviction
// grace period; critical pods are left alone (false).
func (m *evictionManager) evictPod(w *podWorker, message string, disruption bool) bool {
	if isCriticalPod(w.pod) {
		return false
	}
	k := m.k
	_ = k.recorder.Event(w.pod, corev1.EventTypeWarning, ReasonEvicted, message)
	k.log.Action(k.user, ReasonEvicted, "pods", w.pod.Namespace, w.pod.Name, message)
	w.evict(message, disruption)
	return true
}

// localStorageEviction evicts every pod whose local storage exceeds its ephemeral-storage
// limit (the pod's total, or a container's own), as upstream does each round before
// looking at thresholds.
func (m *evictionManager) localStorageEviction(pods []*podWorker, stats map[*podWorker]*podStats) []*podWorker {
	var evicted []*podWorker
	for _, w := range pods {
		s := stats[w]
		if s == nil {
			continue
		}
		msg := ""
		if lim, ok := resourcehelper.PodLimits(w.pod, resourcehelper.PodResourcesOptions{})[corev1.ResourceEphemeralStorage]; ok {
			if resource.NewQuantity(s.disk, resource.BinarySI).Cmp(lim) > 0 {
				msg = fmt.Sprintf("Pod ephemeral local storage usage exceeds the total limit of containers %s. ", lim.String())
			}
		}
		if msg == "" {
			for _, cu := range s.containers {
				for _, c := range w.all() {
					if c.spec.Name != cu.Name {
						continue
					}
					if lim, ok := c.spec.Resources.Limits[corev1.ResourceEphemeralStorage]; ok && !lim.IsZero() && lim.Cmp(*resource.NewQuantity(cu.DiskBytes, resource.BinarySI)) < 0 {
						msg = fmt.Sprintf("Container %s exceeded its local ephemeral storage limit %q. ", cu.Name, lim.String())
					}
					break
				}
				if msg != "" {
					break
				}
			}
		}
		if msg != "" && m.evictPod(w, msg, false) {
			evicted = append(evicted, w)
		}
	}
	return evicted
}

// reclaimImages is image garbage collection under disk pressure: it removes the images no
// pod on the node uses that arrived at least ImageMinimumGCAge ago, and reports whether
// that relieved every threshold.
func (m *evictionManager) reclaimImages() bool {
	k, now := m.k, m.k.clock.Now()
	used := map[string]bool{}
	for _, w := range k.workers {
		if w.terminal && w.allStopped() {
			continue
		}
		for _, c := range w.all() {
			used[c.spec.Image] = true
		}
	}
	removed := 0
	for _, img := range k.runtime.Images() {
		if !used[img.Name] && now.Sub(img.Since) >= ImageMinimumGCAge {
			k.runtime.RemoveImage(img.Name)
			removed++
		}
	}
	if removed > 0 {
		k.log.Action(k.user, "ImageGC", "nodes", "", k.name, fmt.Sprintf("Removed %d unused images to reclaim disk space", removed))
	}
	obs, _ := m.observe()
	return len(m.met(obs)) == 0
}

// admit is upstream's eviction admission: under memory pressure only BestEffort pods are
// rejected (unless they tolerate the memory-pressure taint), under any other pressure
// every pod; critical pods are always admitted.
func (m *evictionManager) admit(pod *corev1.Pod) (string, string) {
	if m == nil || len(m.conditions) == 0 || isCriticalPod(pod) {
		return "", ""
	}
	if len(m.conditions) == 1 && m.conditions[0] == corev1.NodeMemoryPressure {
		if model.PodQOSClass(pod) != corev1.PodQOSBestEffort {
			return "", ""
		}
		if corev1helpers.TolerationsTolerateTaint(pod.Spec.Tolerations, &corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}) {
			return "", ""
		}
	}
	return ReasonEvicted, fmt.Sprintf("The node had condition: %v. ", m.conditions)
}
