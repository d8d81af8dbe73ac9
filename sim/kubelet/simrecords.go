package kubelet

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// record starts the record of a new container instance (see ContainerRecords.Record).
func (r *SimRuntime) record(cfg ContainerConfig) *RuntimeContainer { return r.records.Record(cfg) }

// Containers lists the latest instance of every container on the node, ordered by pod UID
// and container name.
func (r *SimRuntime) Containers() []RuntimeContainer { return r.records.List() }

// RemovePod forgets the records of a pod's containers; containers still being stopped
// finish stopping.
func (r *SimRuntime) RemovePod(uid types.UID) { delete(r.records, uid) }

// CrashContainer makes a running container's process exit now with the exit code, as a
// crash or an outside kill does; the exit reaches the kubelet like any other.
func (r *SimRuntime) CrashContainer(id string, exitCode int32) error {
	c := r.containers[id]
	if c == nil || !c.running || c.stopping {
		return fmt.Errorf("container %s is not running", id)
	}
	r.exit(c, Exit{Code: exitCode}, c.onExit)
	return nil
}

// pullSlowdown is one SlowPulls in effect.
type pullSlowdown struct {
	latency   time.Duration
	bandwidth int64
}

// SlowPulls makes pulls that start from now on take latency more and download at
// bandwidth bytes per second (0 keeps the bandwidth), until restore is called. Slowdowns
// in effect together add their latencies, and the lowest of their bandwidths applies.
// Pulls already under way keep their timing.
func (r *SimRuntime) SlowPulls(latency time.Duration, bandwidth int64) (restore func()) {
	s := &pullSlowdown{latency: latency, bandwidth: bandwidth}
	r.slowdowns = append(r.slowdowns, s)
	return func() {
		for i, have := range r.slowdowns {
			if have == s {
				r.slowdowns = append(r.slowdowns[:i], r.slowdowns[i+1:]...)
				return
			}
		}
	}
}

// pullTiming is the latency and bandwidth of a pull starting now.
func (r *SimRuntime) pullTiming() (time.Duration, int64) {
	latency, bandwidth, capped := r.PullLatency, r.PullBandwidth, false
	for _, s := range r.slowdowns {
		latency += s.latency
		if s.bandwidth > 0 && (!capped || s.bandwidth < bandwidth) {
			bandwidth, capped = s.bandwidth, true
		}
	}
	return max(latency, 0), bandwidth
}
