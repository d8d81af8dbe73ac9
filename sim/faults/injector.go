package faults

import (
	"fmt"
	"time"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Actor is the identity faults are recorded under in the event log.
const Actor = "orrery"

// Target is what faults act on: the simulated cluster. Its methods change the cluster and
// record nothing; the Injector records each fault.
type Target interface {
	Topology
	// CrashNode stops the node's kubelet and kills its containers; RecoverNode starts the
	// kubelet again.
	CrashNode(name string) error
	RecoverNode(name string) error
	// StopKubelet stops the node's kubelet and leaves its containers running;
	// StartKubelet starts it again.
	StopKubelet(name string) error
	StartKubelet(name string) error
	// CutOff cuts the nodes off from the control plane; Reconnect ends that.
	CutOff(nodes ...string)
	Reconnect(nodes ...string)
	// CrashContainer makes a container of a pod exit with the code ("" = the first
	// container).
	CrashContainer(namespace, pod, container string, exitCode int32) error
	// AddNodeUsage adds memory and disk bytes in use on the node outside its pods
	// (negative amounts release them).
	AddNodeUsage(node string, memory, disk int64) error
	// SlowImagePulls adds latency to image pulls and caps their bandwidth (0 keeps it) on
	// the node, or on every node for ""; the returned function restores the settings.
	SlowImagePulls(node string, latency time.Duration, bandwidth int64) (restore func(), err error)
	// AddWatchLatency adds to the API server's watch latency (negative removes).
	AddWatchLatency(d time.Duration)
}

// Injector applies faults to a target at virtual times and ends them after their For.
// Overlapping faults on one node nest: a node two faults crashed recovers when both have
// ended (or at an explicit NodeRecover), and likewise for partitions.
type Injector struct {
	clock  loop.Clock
	log    *eventlog.Log
	target Target
	down   map[string]int // crash faults holding each node down
	cut    map[string]int // partitions holding each node off the control plane
	// Errors are the faults that failed when their time came (a pod that was gone, say),
	// in order; a run reports them.
	Errors []error
}

// NewInjector returns an injector acting on target.
func NewInjector(clock loop.Clock, log *eventlog.Log, target Target) *Injector {
	return &Injector{clock: clock, log: log, target: target, down: map[string]int{}, cut: map[string]int{}}
}

// At validates the fault and schedules it at virtual time at (from the epoch); a time
// already past applies it now.
func (in *Injector) At(at time.Duration, f Fault) error {
	if errs := f.Validate(in.target); len(errs) > 0 {
		return fmt.Errorf("fault %s at %v: %w", f, at, errs[0])
	}
	when := loop.Epoch.Add(at)
	if when.Before(in.clock.Now()) {
		when = in.clock.Now()
	}
	in.clock.At(when, func() {
		if err := in.Apply(f); err != nil {
			in.Errors = append(in.Errors, fmt.Errorf("fault %s at %v: %w", f, in.clock.Now().Sub(loop.Epoch), err))
		}
	})
	return nil
}

// Apply injects the fault now, scheduling its end after f.For.
func (in *Injector) Apply(f Fault) error {
	switch f.Kind {
	case NodeCrash:
		return in.crash([]string{f.Node}, f.For, fmt.Sprintf("Node %s crashed: kubelet and containers gone", f.Node))
	case ZoneOutage:
		nodes := in.target.NodesInZone(f.Zone)
		in.log.Action(Actor, string(ZoneOutage), "zones", "", f.Zone, fmt.Sprintf("Zone %s is down: %d nodes", f.Zone, len(nodes)))
		return in.crash(nodes, f.For, "")
	case NodeRecover:
		if in.down[f.Node] == 0 {
			return nil
		}
		in.down[f.Node] = 0
		return in.recover(f.Node)
	case KubeletStop:
		in.log.Action(Actor, string(KubeletStop), "nodes", "", f.Node, fmt.Sprintf("Kubelet on %s stopped; its containers keep running", f.Node))
		if err := in.target.StopKubelet(f.Node); err != nil {
			return err
		}
		in.after(f.For, func() error { return in.Apply(Fault{Kind: KubeletStart, Node: f.Node}) })
	case KubeletStart:
		in.log.Action(Actor, string(KubeletStart), "nodes", "", f.Node, fmt.Sprintf("Kubelet on %s starting", f.Node))
		return in.target.StartKubelet(f.Node)
	case NetworkPartition:
		nodes, what := in.partitionNodes(f)
		in.log.Action(Actor, string(NetworkPartition), "nodes", "", what, fmt.Sprintf("%s cut off from the control plane", partitionSubject(f)))
		var cut []string
		for _, n := range nodes {
			if in.cut[n]++; in.cut[n] == 1 {
				cut = append(cut, n)
			}
		}
		in.target.CutOff(cut...)
		in.after(f.For, func() error { in.heal(f, false); return nil })
	case NetworkHeal:
		in.heal(f, true)
	case ContainerCrash:
		in.log.Action(Actor, string(ContainerCrash), "pods", f.Namespace, f.Pod, fmt.Sprintf("Container %s exits with code %d", containerName(f.Container), exitCode(f)))
		return in.target.CrashContainer(f.Namespace, f.Pod, f.Container, exitCode(f))
	case MemoryPressure, DiskPressure:
		in.log.Action(Actor, string(f.Kind), "nodes", "", f.Node, fmt.Sprintf("%d bytes of memory and %d of disk in use outside pods", f.Memory, f.Disk))
		if err := in.target.AddNodeUsage(f.Node, f.Memory, f.Disk); err != nil {
			return err
		}
		in.after(f.For, func() error {
			in.log.Action(Actor, string(f.Kind)+"Released", "nodes", "", f.Node, "Usage outside pods released")
			return in.target.AddNodeUsage(f.Node, -f.Memory, -f.Disk)
		})
	case SlowRegistry:
		in.log.Action(Actor, string(SlowRegistry), "nodes", "", f.Node, fmt.Sprintf("Image pulls take %v more at %d bytes/s", f.Latency, f.Bandwidth))
		restore, err := in.target.SlowImagePulls(f.Node, f.Latency, f.Bandwidth)
		if err != nil {
			return err
		}
		in.after(f.For, func() error {
			in.log.Action(Actor, string(SlowRegistry)+"Restored", "nodes", "", f.Node, "Image pulls back to normal")
			restore()
			return nil
		})
	case APIServerBrownout:
		in.log.Action(Actor, string(APIServerBrownout), "apiservers", "", "kube-apiserver", fmt.Sprintf("Watch events delayed by %v more", f.Latency))
		in.target.AddWatchLatency(f.Latency)
		in.after(f.For, func() error {
			in.log.Action(Actor, string(APIServerBrownout)+"Over", "apiservers", "", "kube-apiserver", "Watch latency back to normal")
			in.target.AddWatchLatency(-f.Latency)
			return nil
		})
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}

// crash takes nodes down (logging each with msg, or a default), and brings each back after
// d unless another fault still holds it.
func (in *Injector) crash(nodes []string, d time.Duration, msg string) error {
	for _, n := range nodes {
		in.down[n]++
		if in.down[n] > 1 {
			continue
		}
		m := msg
		if m == "" {
			m = fmt.Sprintf("Node %s crashed: kubelet and containers gone", n)
		}
		in.log.Action(Actor, string(NodeCrash), "nodes", "", n, m)
		if err := in.target.CrashNode(n); err != nil {
			return err
		}
	}
	in.after(d, func() error {
		for _, n := range nodes {
			if in.down[n] == 0 {
				continue // recovered explicitly meanwhile
			}
			if in.down[n]--; in.down[n] == 0 {
				if err := in.recover(n); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return nil
}

func (in *Injector) recover(node string) error {
	in.log.Action(Actor, string(NodeRecover), "nodes", "", node, fmt.Sprintf("Node %s is back: kubelet restarting", node))
	return in.target.RecoverNode(node)
}

// heal ends a partition; force (an explicit NetworkHeal) ends every partition holding the
// nodes.
func (in *Injector) heal(f Fault, force bool) {
	nodes, what := in.partitionNodes(f)
	var back []string
	for _, n := range nodes {
		if in.cut[n] == 0 {
			continue
		}
		in.cut[n]--
		if force {
			in.cut[n] = 0
		}
		if in.cut[n] == 0 {
			back = append(back, n)
		}
	}
	if len(back) == 0 {
		return
	}
	in.log.Action(Actor, string(NetworkHeal), "nodes", "", what, fmt.Sprintf("%s reconnected to the control plane", partitionSubject(f)))
	in.target.Reconnect(back...)
}

func (in *Injector) partitionNodes(f Fault) ([]string, string) {
	if f.Zone != "" {
		return in.target.NodesInZone(f.Zone), f.Zone
	}
	return []string{f.Node}, f.Node
}

func partitionSubject(f Fault) string {
	if f.Zone != "" {
		return "Zone " + f.Zone
	}
	return "Node " + f.Node
}

// after runs fn d from now when d > 0, recording its error.
func (in *Injector) after(d time.Duration, fn func() error) {
	if d <= 0 {
		return
	}
	in.clock.After(d, func() {
		if err := fn(); err != nil {
			in.Errors = append(in.Errors, err)
		}
	})
}

func exitCode(f Fault) int32 {
	if f.ExitCode == 0 {
		return 137
	}
	return f.ExitCode
}

func containerName(c string) string {
	if c == "" {
		return "(first)"
	}
	return c
}
