// Package nodeports is the NodePorts plugin: a pod that asks for host ports fits only nodes
// where no other pod holds the same protocol and port on an overlapping host IP.
package nodeports

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "NodePorts"

// ErrReason is the text users see when a node's host ports are taken.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

// defaultBindAllHostIP is the wildcard host IP: it overlaps every IP.
const defaultBindAllHostIP = "0.0.0.0"

const preFilterStateKey = "PreFilter" + Name

// NodePorts is the plugin.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = NodePorts{}
	_ framework.FilterPlugin    = NodePorts{}
)

// New is the plugin's factory; the plugin takes no args, so args are ignored as upstream
// ignores them.
func New(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) { return NodePorts{}, nil }

// Name returns the plugin's name.
func (NodePorts) Name() string { return Name }

// wantedPort is one host port the pod asks for, with the UsedPorts keys it conflicts with
// precomputed. A wildcard port conflicts with any IP, so it keeps a prefix and suffix to
// test keys against instead.
type wantedPort struct {
	wildcard bool
	// For a specific IP: the keys of the same protocol/port on the wildcard and on the IP.
	anyIPKey, ipKey string
	// For the wildcard: "protocol/" and "/port".
	prefix, suffix string
}

type preFilterState struct {
	ports []wantedPort
}

// HostPorts returns the host ports a pod uses, as upstream's GetHostPorts: ports with a
// hostPort of the containers and of the init containers that run for the pod's whole life
// (restartPolicy Always).
func HostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

func newPreFilterState(pod *corev1.Pod) *preFilterState {
	s := &preFilterState{}
	s.init(pod)
	return s
}

// init makes s (new, or last cycle's) the state of pod.
func (s *preFilterState) init(pod *corev1.Pod) {
	s.ports = s.ports[:0]
	for _, p := range HostPorts(pod) {
		protocol, ip := string(p.Protocol), p.HostIP
		if protocol == "" {
			protocol = string(corev1.ProtocolTCP)
		}
		if ip == "" {
			ip = defaultBindAllHostIP
		}
		if ip == defaultBindAllHostIP {
			s.ports = append(s.ports, wantedPort{wildcard: true, prefix: protocol + "/", suffix: "/" + strconv.Itoa(int(p.HostPort))})
			continue
		}
		s.ports = append(s.ports, wantedPort{
			anyIPKey: framework.PortKey(corev1.Protocol(protocol), defaultBindAllHostIP, p.HostPort),
			ipKey:    framework.PortKey(corev1.Protocol(protocol), ip, p.HostPort),
		})
	}
}

// PreFilter collects the pod's host ports once; a pod without any returns Skip and Filter
// passes every node.
func (NodePorts) PreFilter(state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	s, ok := state.Recycled(preFilterStateKey).(*preFilterState)
	if !ok {
		s = &preFilterState{}
	}
	s.init(pod)
	state.Write(preFilterStateKey, s)
	if len(s.ports) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Filter rejects a node where a wanted port conflicts with a used one: same protocol and
// port, and either IP is the wildcard 0.0.0.0 or both are the same.
func (NodePorts) Filter(state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	var s *preFilterState
	if v, ok := state.Read(preFilterStateKey); ok {
		s = v.(*preFilterState)
	} else {
		s = newPreFilterState(pod)
	}
	if len(s.ports) == 0 || fits(s.ports, n.UsedPorts) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ErrReason)
}

// fits is upstream's HostPortInfo.CheckConflict over every wanted port. The wildcard case
// looks at every used port, but only for a yes/no answer, so map order does not matter.
func fits(wanted []wantedPort, used map[string]int) bool {
	if len(used) == 0 {
		return true
	}
	for i := range wanted {
		w := &wanted[i]
		if !w.wildcard {
			if used[w.anyIPKey] > 0 || used[w.ipKey] > 0 {
				return false
			}
			continue
		}
		for k, c := range used {
			if c > 0 && strings.HasPrefix(k, w.prefix) && strings.HasSuffix(k, w.suffix) {
				return false
			}
		}
	}
	return true
}
