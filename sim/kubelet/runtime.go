package kubelet

import (
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
)

// Runtime is what the kubelet asks of a container runtime (the CRI seam: simulated here,
// containerd in real mode). Every call returns at once; its outcome arrives through the
// callback, which the runtime schedules on the loop (in virtual time for the simulated
// runtime, as external events for a real one). Usage is the one synchronous read.
type Runtime interface {
	// ImagePresent reports whether the image is in the node's image store.
	ImagePresent(image string) bool
	// PullImage pulls the image; done receives the image's size in bytes (0 if unknown)
	// or the pull's error.
	PullImage(image string, done func(size int64, err error))
	// Images lists the node's images in name order.
	Images() []Image
	// RemoveImage deletes an image from the node's image store.
	RemoveImage(image string)
	// StartContainer creates and starts a container; started is called when its process
	// runs and exited when the process ends by itself (completion, crash, OOM kill).
	StartContainer(cfg ContainerConfig, started func(), exited func(Exit))
	// StopContainer sends SIGTERM, then SIGKILL after grace; done is called with the exit
	// once the process is gone (at once if it already was).
	StopContainer(id string, grace time.Duration, done func(Exit))
	// Probe runs one probe of a running container; done says whether it succeeded.
	Probe(id string, probe ProbeType, done func(ok bool))
	// Usage returns a running container's CPU (millicores, throttled at its limit) and
	// memory (bytes) usage now.
	Usage(id string) (Usage, bool)
	// KillAll removes every container at once, as a node crash does; no callback of an
	// earlier call runs afterwards.
	KillAll()
	// Containers lists the latest instance of every container of every pod on the node,
	// created, running (also while being stopped) or exited, as CRI's ListContainers and
	// ContainerStatus report them; a kubelet that starts adopts what it finds. The
	// callbacks of StartContainer still run for containers a stopped kubelet left behind.
	Containers() []RuntimeContainer
	// RemovePod forgets a pod's container records once the kubelet is done with the pod
	// (CRI's RemovePodSandbox).
	RemovePod(uid types.UID)
}

// FaultRuntime is what a runtime offers fault injection besides the CRI (the simulated
// runtime does; the kubelet finds it through wrappers that have an Unwrap() Runtime).
type FaultRuntime interface {
	// CrashContainer makes a running container exit now with the exit code; its exited
	// callback runs as for any exit.
	CrashContainer(id string, exitCode int32) error
	// SlowPulls adds latency to pulls and sets their bandwidth (0 keeps it) until
	// restore is called.
	SlowPulls(latency time.Duration, bandwidth int64) (restore func())
}

// faultRuntime returns the FaultRuntime under rt's wrappers, or nil.
func faultRuntime(rt Runtime) FaultRuntime {
	for rt != nil {
		if f, ok := rt.(FaultRuntime); ok {
			return f
		}
		u, ok := rt.(interface{ Unwrap() Runtime })
		if !ok {
			return nil
		}
		rt = u.Unwrap()
	}
	return nil
}

// ContainerState is a container instance's state in the runtime.
type ContainerState int

// The container states, as CRI's.
const (
	ContainerCreated ContainerState = iota
	ContainerRunning
	ContainerExited
)

// RuntimeContainer is what the runtime knows of one container instance.
type RuntimeContainer struct {
	// ID names the instance (ContainerConfig.ID).
	ID string
	// Pod is the pod the instance was created for (shared: do not modify).
	Pod *corev1.Pod
	// Name is the container's name in the pod.
	Name string
	// Attempt is the instance's restart count when it was created.
	Attempt int32
	// State is where the instance is in its life.
	State ContainerState
	// Stopping is set once the instance was sent SIGTERM (it runs until it exits).
	Stopping bool
	// StartedAt and FinishedAt are when its process started and ended (zero if not yet).
	StartedAt, FinishedAt time.Time
	// Exit is how its process ended (when State is ContainerExited).
	Exit Exit
}

// ContainerConfig is one container instance to run.
type ContainerConfig struct {
	// ID names this instance: <pod UID>/<container name>/<attempt>.
	ID string
	// Pod and Container are the spec the instance runs (shared: do not modify).
	Pod       *corev1.Pod
	Container *corev1.Container
	// Attempt is the container's restart count (CRI's attempt), as the runtime records it.
	Attempt int32
	// Profile is the container's usage profile (the simulated runtime follows it).
	Profile model.ContainerProfile
	// Rand is the instance's own random stream, derived from the kubelet's named stream.
	Rand *rand.Rand
}

// Exit is how a container's process ended.
type Exit struct {
	// Code is the exit code (137 for SIGKILL).
	Code int32
	// OOMKilled is set when the kernel killed it for exceeding its memory limit.
	OOMKilled bool
}

// Reason is the terminated state's reason as the kubelet reports it.
func (e Exit) Reason() string {
	switch {
	case e.OOMKilled:
		return ReasonOOMKilled
	case e.Code == 0:
		return ReasonCompleted
	}
	return ReasonError
}

// Usage is a container's resource usage at one instant.
type Usage struct {
	// MilliCPU is CPU usage in millicores.
	MilliCPU int64
	// MemoryBytes is the working set in bytes.
	MemoryBytes int64
	// DiskBytes is the container's local ephemeral storage: its writable layer, its logs
	// and its share of emptyDir volumes.
	DiskBytes int64
}

// Image is one image in the node's image store.
type Image struct {
	// Name is the reference the image was pulled (or preloaded) as.
	Name string
	// SizeBytes is its size on disk.
	SizeBytes int64
	// Since is when it arrived on the node.
	Since time.Time
}

// ProbeType is the kind of a container probe.
type ProbeType string

// The probe kinds, named as upstream's events name them.
const (
	ProbeLiveness  ProbeType = "Liveness"
	ProbeReadiness ProbeType = "Readiness"
	ProbeStartup   ProbeType = "Startup"
)
