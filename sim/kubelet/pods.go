package kubelet

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Container state reasons, as upstream's kubelet reports them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonCompleted                  = "Completed"
	ReasonError                      = "Error"
	ReasonOOMKilled                  = "OOMKilled"
)

// Event reasons the kubelet records, as upstream's.
const (
	EventPulling     = "Pulling"
	EventPulled      = "Pulled"
	EventCreated     = "Created"
	EventStarted     = "Started"
	EventKilling     = "Killing"
	EventBackOff     = "BackOff"
	EventUnhealthy   = "Unhealthy"
	EventFailed      = "Failed"
	EventFailedMount = "FailedMount"
)

// Further kubelet timings, as upstream's.
const (
	// DefaultPLEGRelistPeriod is how soon the kubelet notices a failed image pull and
	// moves the container to ImagePullBackOff.
	DefaultPLEGRelistPeriod = time.Second
	// MinimumGracePeriod is the least SIGTERM-to-SIGKILL time left after a preStop hook.
	MinimumGracePeriod = 2 * time.Second
)

type cphase int

const (
	cWaiting cphase = iota
	cRunning
	cTerminated
)

type ckind int

const (
	kindRegular ckind = iota
	kindInit
	kindSidecar
)

// container is what the kubelet knows of one container of a pod it runs.
type container struct {
	spec *corev1.Container
	kind ckind

	phase           cphase
	reason, message string // while waiting
	id              string // the current (or last) instance
	instances       int
	restarts        int32
	startedAt       time.Time
	finishedAt      time.Time
	exit            Exit
	last            *corev1.ContainerStateTerminated
	started, ready  bool
	pulling         bool     // its image is being pulled
	creating        bool     // an instance is being created and started
	stopping        []func() // being stopped: called once it is gone
	backedOff       bool     // back-off already applied to the current exit
	forceRestart    bool     // killed by a failed liveness or startup probe
	retry           *loop.Timer
	probes          []*prober
}

// podWorker drives one pod on the node.
type podWorker struct {
	k             *Kubelet
	key           string
	uid           types.UID
	pod           *corev1.Pod
	parsed        bool
	hasAnnotation bool
	annotation    string
	profile       *model.UsageProfile
	profileErr    error
	inits         []*container
	ctrs          []*container
	ip            string
	startTime     metav1.Time
	volumesOK     bool
	retry         *loop.Timer

	terminating    bool // being deleted
	terminal       bool // reached Succeeded or Failed
	evicted        *eviction
	stopped        bool // deleted and every container gone
	wasInitialized bool
	flushQueued    bool
}

// eviction is why the eviction manager failed a pod.
type eviction struct {
	message    string
	disruption bool // the pod gets the DisruptionTarget condition
}

func (w *podWorker) current() bool { return w.k.up && w.k.workers[w.key] == w }

func (w *podWorker) all() []*container {
	return append(append([]*container(nil), w.inits...), w.ctrs...)
}

// podChanged drives a pod towards what its object says: admit and start it, or finish
// its deletion.
func (k *Kubelet) podChanged(pod *corev1.Pod) {
	key := informer.Key(pod)
	w := k.workers[key]
	if w != nil && w.uid != pod.UID { // a new pod with the same name
		k.dropWorker(w)
		w = nil
	}
	if pod.DeletionTimestamp != nil {
		if w == nil && hasLive(k.found[pod.UID]) {
			// Deleted while the kubelet was down, its containers still running: stop
			// them within the grace period, then finish the deletion.
			w = k.newWorker(pod)
			k.workers[key] = w
			w.update(pod)
		}
		if w == nil {
			if _, ok := k.found[pod.UID]; ok {
				delete(k.found, pod.UID)
				k.runtime.RemovePod(pod.UID)
			}
			k.after(0, func() { k.confirmDeletion(pod) })
			return
		}
		w.pod = pod
		w.terminate()
		return
	}
	if w == nil {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return
		}
		if reason, msg := k.admit(pod); reason != "" {
			k.reject(pod, reason, msg)
			return
		}
		w = k.newWorker(pod)
		k.workers[key] = w
	}
	w.update(pod)
	w.sync()
}

func (k *Kubelet) newWorker(pod *corev1.Pod) *podWorker {
	w := &podWorker{k: k, key: informer.Key(pod), uid: pod.UID, pod: pod, startTime: metav1.NewTime(k.clock.Now())}
	if pod.Status.StartTime != nil {
		w.startTime = *pod.Status.StartTime
	}
	k.refreshPodCIDR()
	if pod.Status.PodIP != "" && k.ips.claim(pod.Status.PodIP, pod.UID) {
		w.ip = pod.Status.PodIP
	} else {
		w.ip = k.ips.allocate(pod.UID)
	}
	prev := map[string]corev1.ContainerStatus{}
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		prev[cs.Name] = cs
	}
	mk := func(spec *corev1.Container, kind ckind) *container {
		c := &container{spec: spec, kind: kind}
		if cs, ok := prev[spec.Name]; ok && (cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil) {
			// The kubelet restarted: the container's earlier instances are gone.
			c.restarts, c.instances = cs.RestartCount, 1
			switch {
			case cs.State.Terminated != nil && kind == kindInit && cs.State.Terminated.ExitCode == 0:
				c.phase, c.exit = cTerminated, Exit{}
				c.startedAt, c.finishedAt = cs.State.Terminated.StartedAt.Time, cs.State.Terminated.FinishedAt.Time
				c.id = cs.ContainerID
				c.backedOff = true
			default:
				c.last = &corev1.ContainerStateTerminated{ExitCode: 255, Reason: "Unknown", FinishedAt: metav1.NewTime(k.clock.Now())}
			}
		}
		return c
	}
	for i := range pod.Spec.InitContainers {
		kind := kindInit
		if rp := pod.Spec.InitContainers[i].RestartPolicy; rp != nil && *rp == corev1.ContainerRestartPolicyAlways {
			kind = kindSidecar
		}
		w.inits = append(w.inits, mk(&pod.Spec.InitContainers[i], kind))
	}
	for i := range pod.Spec.Containers {
		w.ctrs = append(w.ctrs, mk(&pod.Spec.Containers[i], kindRegular))
	}
	if recs, ok := k.found[pod.UID]; ok {
		delete(k.found, pod.UID)
		for _, rc := range recs {
			for _, c := range w.all() {
				if c.spec.Name == rc.Name {
					w.adopt(c, rc, prev[rc.Name])
				}
			}
		}
	}
	return w
}

// update takes the pod's latest object and re-reads its usage profile if it changed.
func (w *podWorker) update(pod *corev1.Pod) {
	w.pod = pod
	a, ok := pod.Annotations[model.UsageAnnotation]
	if w.parsed && w.hasAnnotation == ok && w.annotation == a {
		return
	}
	w.parsed, w.hasAnnotation, w.annotation = true, ok, a
	w.profile, w.profileErr = model.PodProfile(pod.Annotations)
}

// sync starts what should run next: init containers in order, then the containers, each
// restarted per the pod's restartPolicy with CrashLoopBackOff; it then reports status.
func (w *podWorker) sync() {
	if !w.current() || w.terminating || w.terminal {
		return
	}
	defer w.queueStatus()
	if !w.volumesOK {
		if vol, msg := w.k.volumeError(w.pod); msg != "" {
			_ = w.k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventFailedMount, "MountVolume.SetUp failed for volume %q : %s", vol, msg)
			w.retryAfter(w.k.cfg.PodSyncRetry)
			return
		}
		w.volumesOK = true
	}
	policy := w.pod.Spec.RestartPolicy
	initialized := true
	for _, c := range w.inits {
		if c.kind == kindSidecar {
			if c.phase != cRunning {
				w.ensureStarted(c)
			}
			if !c.started {
				initialized = false
				break
			}
			continue
		}
		if c.phase == cTerminated && c.exit.Code == 0 && !c.forceRestart {
			continue
		}
		initialized = false
		if c.phase == cRunning || c.inFlight() {
			break
		}
		if c.phase == cTerminated && policy == corev1.RestartPolicyNever {
			w.finishTerminal()
			return
		}
		w.ensureStarted(c)
		break
	}
	if !initialized {
		return
	}
	for _, c := range w.ctrs {
		if c.phase == cRunning || c.inFlight() {
			continue
		}
		if c.phase == cTerminated && !shouldRestart(policy, c) {
			continue
		}
		w.ensureStarted(c)
	}
	if policy != corev1.RestartPolicyAlways {
		for _, c := range w.ctrs {
			if c.phase != cTerminated || c.inFlight() || shouldRestart(policy, c) {
				return
			}
		}
		w.finishTerminal()
	}
}

// shouldRestart applies the restartPolicy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, c *container) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.forceRestart || c.exit.Code != 0
	}
	return true
}

func (w *podWorker) retryAfter(d time.Duration) {
	w.retry.Stop()
	w.retry = w.k.after(d, func() {
		w.retry = nil
		w.sync()
	})
}

func (c *container) retryAfter(w *podWorker, d time.Duration) {
	c.retry.Stop()
	c.retry = w.k.after(d, func() {
		c.retry = nil
		w.sync()
	})
}

func (c *container) inFlight() bool { return c.pulling || c.creating || c.stopping != nil }

func (c *container) wait(reason, message string) {
	if c.phase == cTerminated {
		t := c.terminated()
		c.last = &t
	}
	c.phase, c.reason, c.message = cWaiting, reason, message
}

func (c *container) terminated() corev1.ContainerStateTerminated {
	return corev1.ContainerStateTerminated{ExitCode: c.exit.Code, Reason: c.exit.Reason(), StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(c.finishedAt), ContainerID: c.containerID()}
}

func (c *container) containerID() string {
	if c.id == "" {
		return ""
	}
	return "sim://" + c.id
}

// ensureStarted (re)starts a container: back-off, image, configuration, then the runtime.
func (w *podWorker) ensureStarted(c *container) {
	if c.inFlight() || c.retry != nil || c.phase == cRunning {
		return
	}
	k, now := w.k, w.k.clock.Now()
	if c.instances > 0 && !c.finishedAt.IsZero() && !c.backedOff {
		key := string(w.uid) + "/" + c.spec.Name
		if k.backoff.inBackOffSince(key, c.finishedAt, now) {
			delay := k.backoff.get(key)
			c.wait(ReasonCrashLoopBackOff, fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, c.spec.Name, podDesc(w.pod)))
			_ = k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventBackOff, "Back-off restarting failed container %s in pod %s", c.spec.Name, podDesc(w.pod))
			c.retryAfter(w, c.finishedAt.Add(delay).Sub(now))
			return
		}
		k.backoff.next(key, c.finishedAt, now)
		c.backedOff = true
	}
	w.pullImage(c)
}

// podDesc formats a pod as upstream's kubelet messages do: name_namespace(uid).
func podDesc(p *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)
}

func (w *podWorker) creatingReason(c *container) string {
	if c.kind == kindRegular && len(w.inits) > 0 {
		return ReasonPodInitializing
	}
	return ReasonContainerCreating
}

// pullImage makes the container's image present as its imagePullPolicy says.
func (w *podWorker) pullImage(c *container) {
	k, img := w.k, c.spec.Image
	present := k.runtime.ImagePresent(img)
	policy := c.spec.ImagePullPolicy
	if policy == corev1.PullNever && !present {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", img)
		c.wait(ReasonErrImageNeverPull, msg)
		_ = k.recorder.Event(w.pod, corev1.EventTypeWarning, ReasonErrImageNeverPull, msg)
		c.retryAfter(w, k.cfg.PodSyncRetry)
		return
	}
	if present && policy != corev1.PullAlways {
		_ = k.recorder.Eventf(w.pod, corev1.EventTypeNormal, EventPulled, "Container image %q already present on machine", img)
		w.create(c)
		return
	}
	key, now := "pull/"+string(w.uid)+"/"+img, k.clock.Now()
	if e := k.backoff.entries[key]; e != nil && !k.backoff.expired(e, now) && now.Sub(e.lastUpdate) < e.delay {
		msg := fmt.Sprintf("Back-off pulling image %q", img)
		c.wait(ReasonImagePullBackOff, msg)
		_ = k.recorder.Event(w.pod, corev1.EventTypeNormal, EventBackOff, msg)
		c.retryAfter(w, e.lastUpdate.Add(e.delay).Sub(now))
		return
	}
	if c.phase != cWaiting || c.reason == "" || c.reason == ReasonCrashLoopBackOff {
		c.wait(w.creatingReason(c), "")
	}
	c.pulling = true
	id := c.id
	_ = k.recorder.Eventf(w.pod, corev1.EventTypeNormal, EventPulling, "Pulling image %q", img)
	k.puller.pull(img, func(size int64, err error, pulling time.Duration) {
		if !w.current() || c.id != id || !c.pulling || w.terminating || w.terminal {
			return
		}
		c.pulling = false
		if err != nil {
			k.backoff.next(key, now, k.clock.Now())
			c.wait(ReasonErrImagePull, err.Error())
			_ = k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventFailed, "Failed to pull image %q: %v", img, err)
			_ = k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventFailed, "Error: %s", ReasonErrImagePull)
			c.retryAfter(w, DefaultPLEGRelistPeriod)
			w.queueStatus()
			return
		}
		delete(k.backoff.entries, key)
		total := k.clock.Now().Sub(now)
		_ = k.recorder.Eventf(w.pod, corev1.EventTypeNormal, EventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
			img, pulling.Truncate(time.Millisecond), total.Truncate(time.Millisecond), size)
		w.create(c)
		w.queueStatus()
	})
}

// create checks the container's configuration and starts it in the runtime.
func (w *podWorker) create(c *container) {
	k := w.k
	msg := ""
	if w.profileErr != nil {
		msg = w.profileErr.Error()
	} else {
		msg = k.envConfigError(w.pod, c.spec)
	}
	if msg != "" {
		c.wait(ReasonCreateContainerConfigError, msg)
		_ = k.recorder.Eventf(w.pod, corev1.EventTypeWarning, EventFailed, "Error: %s", msg)
		c.retryAfter(w, k.cfg.PodSyncRetry)
		return
	}
	if c.instances > 0 {
		c.restarts++
	}
	c.instances++
	if c.phase != cWaiting {
		c.wait(w.creatingReason(c), "")
	}
	id := fmt.Sprintf("%s/%s/%d", w.uid, c.spec.Name, c.restarts)
	c.id, c.creating = id, true
	c.forceRestart = false
	_ = k.recorder.Eventf(w.pod, corev1.EventTypeNormal, EventCreated, "Created container: %s", c.spec.Name)
	seed := k.clock.Rand("kubelet/" + k.name)
	cfg := ContainerConfig{ID: id, Pod: w.pod, Container: c.spec, Attempt: c.restarts, Profile: w.profile.For(c.spec.Name), Rand: rand.New(rand.NewPCG(seed.Uint64(), seed.Uint64()))}
	// The runtime's callbacks reach whichever kubelet life runs when they come: a
	// restarted kubelet hears of the containers it adopted.
	key, uid, name := w.key, w.uid, c.spec.Name
	k.runtime.StartContainer(cfg, func() { k.containerStarted(key, uid, name, id) }, func(e Exit) { k.containerExited(key, uid, name, id, e) })
}

// containerOf finds the container instance id of a pod the kubelet runs now.
func (k *Kubelet) containerOf(key string, uid types.UID, name, id string) (*podWorker, *container) {
	w := k.workers[key]
	if !k.up || w == nil || w.uid != uid {
		return nil, nil
	}
	for _, c := range w.all() {
		if c.spec.Name == name && c.id == id {
			return w, c
		}
	}
	return nil, nil
}

// containerStarted records that a container's process runs.
func (k *Kubelet) containerStarted(key string, uid types.UID, name, id string) {
	w, c := k.containerOf(key, uid, name, id)
	if w == nil || w.terminating {
		return
	}
	c.creating = false
	c.phase, c.reason, c.message = cRunning, "", ""
	c.startedAt = k.clock.Now()
	c.backedOff = false
	c.started = c.spec.StartupProbe == nil
	c.ready = c.started && c.spec.ReadinessProbe == nil
	_ = k.recorder.Eventf(w.pod, corev1.EventTypeNormal, EventStarted, "Started container %s", c.spec.Name)
	k.log.Action(k.user, EventStarted, "pods", w.pod.Namespace, w.pod.Name, fmt.Sprintf("Started container %s of pod %s/%s on %s", c.spec.Name, w.pod.Namespace, w.pod.Name, k.name))
	w.startProbes(c)
	w.sync()
}

// containerExited records the end of a container's process and acts on it.
func (k *Kubelet) containerExited(key string, uid types.UID, name, id string, e Exit) {
	w, c := k.containerOf(key, uid, name, id)
	if w == nil || c.phase != cRunning || w.terminating {
		return
	}
	w.exited(c, e)
	if e.OOMKilled {
		k.log.Action(k.user, ReasonOOMKilled, "pods", w.pod.Namespace, w.pod.Name, fmt.Sprintf("Container %s was OOM-killed (exit code 137)", c.spec.Name))
	}
	w.sync()
}

// exited records the end of a container's process.
func (w *podWorker) exited(c *container, e Exit) {
	w.stopProbes(c)
	c.phase, c.exit, c.finishedAt = cTerminated, e, w.k.clock.Now()
	c.started, c.ready, c.pulling, c.creating = false, false, false, false
	c.backedOff = false
}

// kill stops a running (or starting) container with the grace period, running its
// preStop hook first; done runs once it is gone.
func (w *podWorker) kill(c *container, grace time.Duration, message string, done func()) {
	k := w.k
	if c.stopping != nil {
		c.stopping = append(c.stopping, done)
		return
	}
	w.stopProbes(c)
	c.retry.Stop()
	c.retry = nil
	c.pulling = false
	if c.phase != cRunning && !c.creating {
		k.after(0, done)
		return
	}
	c.stopping = []func(){done}
	id := c.id
	_ = k.recorder.Event(w.pod, corev1.EventTypeNormal, EventKilling, message)
	hook := time.Duration(0)
	if c.phase == cRunning {
		hook = min(preStopDuration(c.spec), grace)
	}
	remaining := max(grace-hook, MinimumGracePeriod)
	if grace == 0 {
		remaining = 0
	}
	k.after(hook, func() {
		k.runtime.StopContainer(id, remaining, func(e Exit) {
			if !w.current() || c.id != id {
				return
			}
			waiters := c.stopping
			w.exited(c, e)
			c.stopping = nil
			for _, fn := range waiters {
				fn()
			}
		})
	})
}

// preStopDuration is how long the container's preStop hook takes: a sleep action's
// seconds, or an exec of `sleep N` (possibly through a shell).
func preStopDuration(c *corev1.Container) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0
	}
	h := c.Lifecycle.PreStop
	if h.Sleep != nil {
		return time.Duration(h.Sleep.Seconds) * time.Second
	}
	if h.Exec != nil {
		cmd := h.Exec.Command
		if len(cmd) == 3 && (cmd[1] == "-c") {
			var n float64
			if _, err := fmt.Sscanf(cmd[2], "sleep %g", &n); err == nil && n > 0 {
				return time.Duration(n * float64(time.Second))
			}
		}
		if len(cmd) == 2 && (cmd[0] == "sleep" || cmd[0] == "/bin/sleep") {
			var n float64
			if _, err := fmt.Sscanf(cmd[1], "%g", &n); err == nil && n > 0 {
				return time.Duration(n * float64(time.Second))
			}
		}
	}
	return 0
}

// gracePeriod is the time a container gets between SIGTERM (or preStop) and SIGKILL.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

// finishTerminal ends a pod whose containers will not run again: its phase becomes
// Succeeded or Failed and its sidecars are stopped.
func (w *podWorker) finishTerminal() {
	w.terminal = true
	w.stopRetries()
	for _, c := range w.inits {
		if c.kind == kindSidecar && c.phase == cRunning {
			w.kill(c, gracePeriod(w.pod), fmt.Sprintf("Stopping container %s", c.spec.Name), func() { w.queueStatus() })
		}
	}
	w.k.ips.release(w.ip, w.uid)
	w.queueStatus()
	w.k.log.Action(w.k.user, "PodCompleted", "pods", w.pod.Namespace, w.pod.Name, fmt.Sprintf("Pod %s/%s reached phase %s", w.pod.Namespace, w.pod.Name, w.phase()))
}

func (w *podWorker) stopRetries() {
	w.retry.Stop()
	w.retry = nil
	for _, c := range w.all() {
		c.retry.Stop()
		c.retry = nil
	}
}

// evict fails the pod with reason Evicted: its containers are killed with the eviction
// grace period and never restart.
func (w *podWorker) evict(message string, disruption bool) {
	w.evicted = &eviction{message: message, disruption: disruption}
	w.terminal = true
	w.stopRetries()
	for _, c := range w.all() {
		if c.phase == cRunning || c.creating || c.stopping != nil {
			w.kill(c, EvictionGracePeriod, fmt.Sprintf("Stopping container %s", c.spec.Name), func() { w.queueStatus() })
		}
		c.pulling = false
	}
	w.k.ips.release(w.ip, w.uid)
	w.queueStatus()
}

// terminate stops a pod being deleted within its grace period, writes its final status
// and confirms the deletion to the API server.
func (w *podWorker) terminate() {
	if w.terminating {
		return
	}
	w.terminating = true
	w.stopRetries()
	grace := gracePeriod(w.pod)
	left := 1
	finish := func() {
		left--
		if left > 0 || !w.current() {
			return
		}
		w.k.ips.release(w.ip, w.uid)
		w.stopped = true
		w.flushStatus()
		w.k.confirmDeletion(w.pod)
		delete(w.k.workers, w.key)
		w.k.runtime.RemovePod(w.uid)
		w.k.backoff.forget(string(w.uid) + "/")
		w.k.log.Action(w.k.user, EventKilling, "pods", w.pod.Namespace, w.pod.Name, fmt.Sprintf("Stopped pod %s/%s", w.pod.Namespace, w.pod.Name))
	}
	for _, c := range w.all() {
		if c.phase == cRunning || c.creating || c.stopping != nil {
			left++
			w.kill(c, grace, fmt.Sprintf("Stopping container %s", c.spec.Name), finish)
		}
		c.pulling = false
	}
	w.k.after(0, finish)
}

// confirmDeletion deletes the pod with grace 0 and its UID as precondition.
func (k *Kubelet) confirmDeletion(pod *corev1.Pod) {
	zero := int64(0)
	uid := pod.UID
	_, _ = k.client.Delete("pods", pod.Namespace, pod.Name, apiserver.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
}

// dropWorker forgets a pod replaced or removed from the API, killing its containers.
func (k *Kubelet) dropWorker(w *podWorker) {
	delete(k.workers, w.key)
	w.stopRetries()
	for _, c := range w.all() {
		w.stopProbes(c)
		if c.id != "" && (c.phase == cRunning || c.creating || c.stopping != nil) {
			k.runtime.StopContainer(c.id, 0, func(Exit) {})
		}
	}
	k.ips.release(w.ip, w.uid)
	k.backoff.forget(string(w.uid) + "/")
	k.runtime.RemovePod(w.uid)
}

// podRemoved forgets a pod deleted from the API (its containers are stopped if any).
func (k *Kubelet) podRemoved(pod *corev1.Pod) {
	if w := k.workers[informer.Key(pod)]; w != nil && w.uid == pod.UID {
		k.dropWorker(w)
	}
}
