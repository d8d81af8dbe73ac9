// Package faults injects failures into a running simulated cluster at virtual times: node
// crash and recovery, kubelet stop and restart, network partitions of nodes or zones from
// the control plane, zone outages, container crashes, memory and disk pressure, a slow
// image registry and an API server brown-out; and it draws random fault schedules
// (per-node MTBF/MTTR, correlated zone failures) from the run's seed.
//
// Faults act through a Target (the cluster), so this package knows nothing of how a
// kubelet or the API server is built; each applied fault is recorded in the event log as an
// action of the simulator ("orrery").
package faults

import (
	"fmt"
	"time"
)

// Kind names a fault.
type Kind string

// Fault kinds.
const (
	// NodeCrash stops a node's kubelet and kills its containers; nothing is reported.
	NodeCrash Kind = "NodeCrash"
	// NodeRecover starts a crashed node's kubelet again.
	NodeRecover Kind = "NodeRecover"
	// KubeletStop stops a node's kubelet; its containers keep running, unmanaged.
	KubeletStop Kind = "KubeletStop"
	// KubeletStart starts a stopped kubelet, which takes its running containers back.
	KubeletStart Kind = "KubeletStart"
	// NetworkPartition cuts a node, or every node of a zone, off from the control plane:
	// heartbeats and status updates fail, pods keep running, traffic to and from the
	// partition fails.
	NetworkPartition Kind = "NetworkPartition"
	// NetworkHeal ends a partition of a node or zone.
	NetworkHeal Kind = "NetworkHeal"
	// ZoneOutage crashes every node of a zone (and recovers them after For).
	ZoneOutage Kind = "ZoneOutage"
	// ContainerCrash makes one container of a pod exit with ExitCode.
	ContainerCrash Kind = "ContainerCrash"
	// MemoryPressure adds Memory bytes of usage outside any pod on a node (a leaking
	// system daemon), for the kubelet's eviction manager to see.
	MemoryPressure Kind = "MemoryPressure"
	// DiskPressure adds Disk bytes of usage on a node's root filesystem.
	DiskPressure Kind = "DiskPressure"
	// SlowRegistry makes image pulls on every node (or one node) take Latency more and run
	// at Bandwidth bytes per second.
	SlowRegistry Kind = "SlowRegistry"
	// APIServerBrownout adds Latency to every watch event's delivery.
	APIServerBrownout Kind = "APIServerBrownout"
)

// Kinds lists every fault kind, in the order the documentation gives them.
var Kinds = []Kind{NodeCrash, NodeRecover, KubeletStop, KubeletStart, NetworkPartition, NetworkHeal, ZoneOutage,
	ContainerCrash, MemoryPressure, DiskPressure, SlowRegistry, APIServerBrownout}

// Fault is one failure to inject (or end).
type Fault struct {
	Kind Kind
	// Node is the node a node fault hits (NodeCrash, NodeRecover, KubeletStop,
	// KubeletStart, NetworkPartition, NetworkHeal, MemoryPressure, DiskPressure; optional
	// for SlowRegistry).
	Node string
	// Zone is the zone (topology.kubernetes.io/zone) of a ZoneOutage, or of a
	// NetworkPartition/NetworkHeal given instead of Node.
	Zone string
	// Namespace, Pod and Container name the container of a ContainerCrash (Container
	// defaults to the pod's first container).
	Namespace, Pod, Container string
	// ExitCode is a ContainerCrash's exit code (0 is taken as 137, a kill).
	ExitCode int32
	// Memory and Disk are the extra bytes in use of MemoryPressure and DiskPressure.
	Memory, Disk int64
	// Latency is the added watch latency of APIServerBrownout, or the added pull latency
	// of SlowRegistry.
	Latency time.Duration
	// Bandwidth is SlowRegistry's pull bandwidth in bytes per second (0 keeps the node's).
	Bandwidth int64
	// For ends the fault after this long (recover, restart, heal, release, restore); 0
	// leaves it in place.
	For time.Duration
}

// String describes the fault for messages.
func (f Fault) String() string {
	switch f.Kind {
	case ZoneOutage:
		return fmt.Sprintf("%s zone %s", f.Kind, f.Zone)
	case NetworkPartition, NetworkHeal:
		if f.Zone != "" {
			return fmt.Sprintf("%s zone %s", f.Kind, f.Zone)
		}
	case ContainerCrash:
		return fmt.Sprintf("%s %s/%s", f.Kind, f.Namespace, f.Pod)
	case APIServerBrownout:
		return fmt.Sprintf("%s +%v", f.Kind, f.Latency)
	case SlowRegistry:
		if f.Node == "" {
			return string(f.Kind)
		}
	}
	return fmt.Sprintf("%s node %s", f.Kind, f.Node)
}

// FieldError is a problem with one field of a fault, by its field name as a scenario
// spells it ("node", "zone", "for").
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

// Topology is what validation checks names against.
type Topology interface {
	// HasNode reports whether a node of that name exists.
	HasNode(name string) bool
	// NodesInZone returns the nodes of a zone, sorted (none if the zone is unknown).
	NodesInZone(zone string) []string
}

// Validate checks a fault against the cluster's nodes and zones, returning every problem.
func (f Fault) Validate(t Topology) []*FieldError {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	node := func(required bool) {
		switch {
		case f.Node == "" && required:
			add("node", "Required value: %s names a node", f.Kind)
		case f.Node != "" && !t.HasNode(f.Node):
			add("node", "Not found: %q: no such node in the cluster", f.Node)
		}
	}
	zone := func() {
		switch {
		case f.Zone == "":
			add("zone", "Required value: %s names a zone", f.Kind)
		case len(t.NodesInZone(f.Zone)) == 0:
			add("zone", "Not found: %q: no node of the cluster is in that zone", f.Zone)
		}
	}
	if f.For < 0 {
		add("for", "Invalid value: %v: must not be negative", f.For)
	}
	switch f.Kind {
	case NodeCrash, NodeRecover, KubeletStop, KubeletStart:
		node(true)
	case MemoryPressure:
		node(true)
		if f.Memory <= 0 {
			add("memory", "Required value: a positive quantity of memory")
		}
	case DiskPressure:
		node(true)
		if f.Disk <= 0 {
			add("disk", "Required value: a positive quantity of disk")
		}
	case NetworkPartition, NetworkHeal:
		switch {
		case f.Node != "" && f.Zone != "":
			add("zone", "Invalid value: %q: give node or zone, not both", f.Zone)
		case f.Zone != "":
			zone()
		default:
			node(true)
		}
	case ZoneOutage:
		zone()
	case ContainerCrash:
		if f.Pod == "" {
			add("pod", "Required value: the pod whose container crashes")
		}
		if f.ExitCode < 0 || f.ExitCode > 255 {
			add("exitCode", "Invalid value: %d: must be between 0 and 255", f.ExitCode)
		}
	case SlowRegistry:
		node(false)
		if f.Latency < 0 || f.Bandwidth < 0 {
			add("latency", "Invalid value: latency and bandwidth must not be negative")
		}
		if f.Latency == 0 && f.Bandwidth == 0 {
			add("latency", "Required value: a latency or a bandwidth")
		}
	case APIServerBrownout:
		if f.Latency <= 0 {
			add("latency", "Required value: a positive added watch latency")
		}
	case "":
		add("kind", "Required value")
	default:
		add("kind", "Unsupported value: %q: supported values: %s", f.Kind, kindList())
	}
	return errs
}

func kindList() string {
	s := ""
	for i, k := range Kinds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", k)
	}
	return s
}
