package nodeports

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// port parses "protocol/ip/hostPort" ("" parts stay empty, as an unset field).
func port(spec string) corev1.ContainerPort {
	parts := strings.Split(spec, "/")
	p, _ := strconv.Atoi(parts[2])
	return corev1.ContainerPort{Protocol: corev1.Protocol(parts[0]), HostIP: parts[1], HostPort: int32(p), ContainerPort: 8080}
}

func podWithPorts(specs ...string) *corev1.Pod {
	c := corev1.Container{Name: "c"}
	for _, s := range specs {
		c.Ports = append(c.Ports, port(s))
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func nodeUsing(specs ...string) *framework.NodeInfo {
	ni := framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}})
	ni.AddPod("ns/existing", framework.NewPodInfo(podWithPorts(specs...)))
	return ni
}

// The cases follow upstream's node_ports_test.go.
func TestFilter(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := podWithPorts()
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "s", RestartPolicy: &always, Ports: []corev1.ContainerPort{port("UDP/127.0.0.1/8080")}}}
	initOnly := podWithPorts()
	initOnly.Spec.InitContainers = []corev1.Container{{Name: "i", Ports: []corev1.ContainerPort{port("UDP/127.0.0.1/8080")}}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *framework.NodeInfo
		skip bool
		fits bool
	}{
		{"nothing running", podWithPorts("UDP/127.0.0.1/8080"), framework.NewNodeInfo(&corev1.Node{}), false, true},
		{"no host ports", podWithPorts(), nodeUsing("UDP/127.0.0.1/8080"), true, true},
		{"other port", podWithPorts("UDP/127.0.0.1/8080"), nodeUsing("UDP/127.0.0.1/9090"), false, true},
		{"same port", podWithPorts("UDP/127.0.0.1/8080"), nodeUsing("UDP/127.0.0.1/8080"), false, false},
		{"same port, other IP", podWithPorts("TCP/127.0.0.1/8080"), nodeUsing("TCP/127.0.0.2/8080"), false, true},
		{"same port, other protocol", podWithPorts("TCP/127.0.0.1/8080"), nodeUsing("UDP/127.0.0.1/8080"), false, true},
		{"second port clashes", podWithPorts("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"), nodeUsing("UDP/127.0.0.1/8080"), false, false},
		// The wildcard IP overlaps every IP, both ways.
		{"wanted wildcard, used specific", podWithPorts("TCP/0.0.0.0/8001"), nodeUsing("TCP/127.0.0.1/8001"), false, false},
		{"wanted specific, used wildcard", podWithPorts("TCP/127.0.0.1/8001"), nodeUsing("TCP/0.0.0.0/8001"), false, false},
		{"wildcard, other protocol", podWithPorts("UDP/0.0.0.0/8001"), nodeUsing("TCP/127.0.0.1/8001"), false, true},
		{"wildcard, other port", podWithPorts("TCP/0.0.0.0/8001"), nodeUsing("TCP/127.0.0.1/18001"), false, true},
		// An empty IP is the wildcard and an empty protocol TCP.
		{"defaults: empty IP and protocol", podWithPorts("//8001"), nodeUsing("TCP/10.0.0.1/8001"), false, false},
		{"defaults: used empty", podWithPorts("TCP/10.0.0.1/8001"), nodeUsing("//8001"), false, false},
		// Sidecars (restartable init containers) hold their ports; other init containers do not.
		{"sidecar port", sidecar, nodeUsing("UDP/127.0.0.1/8080"), false, false},
		{"init container port ignored", initOnly, nodeUsing("UDP/127.0.0.1/8080"), true, true},
	}
	for _, tt := range tests {
		state := framework.NewCycleState()
		pf := NodePorts{}.PreFilter(state, tt.pod)
		if (pf.Code() == framework.Skip) != tt.skip {
			t.Errorf("%s: PreFilter %v, want skip=%v", tt.name, pf.Code(), tt.skip)
		}
		for _, s := range []*framework.CycleState{state, framework.NewCycleState()} {
			st := NodePorts{}.Filter(s, tt.pod, tt.node)
			if st.IsSuccess() != tt.fits {
				t.Errorf("%s: Filter %v, want fits=%v", tt.name, st.Message(), tt.fits)
			}
			if !st.IsSuccess() && (st.Code() != framework.Unschedulable || st.Message() != ErrReason) {
				t.Errorf("%s: status %v %q", tt.name, st.Code(), st.Message())
			}
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	pod := podWithPorts("TCP/0.0.0.0/8001", "TCP/10.0.0.1/9000")
	n := nodeUsing("TCP/10.0.0.2/8002", "UDP/0.0.0.0/8001", "TCP/10.0.0.1/9001")
	state := framework.NewCycleState()
	NodePorts{}.PreFilter(state, pod)
	b.ReportAllocs()
	for b.Loop() {
		if !(NodePorts{}).Filter(state, pod, n).IsSuccess() {
			b.Fatal("conflict")
		}
	}
}
