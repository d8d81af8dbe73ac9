package scheduler

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// nopBinder accepts every binding without an API server, so the benchmark measures the
// scheduling cycle itself.
type nopBinder struct{}

func (nopBinder) Name() string { return "NopBinder" }
func (nopBinder) Bind(*framework.CycleState, *corev1.Pod, string) *framework.Status {
	return nil
}

// benchScheduler builds a scheduler whose cache holds n nodes of 64 CPUs with 10 pods each.
// With withAffinity, a third of the existing pods carry a required anti-affinity term.
func benchScheduler(_ testing.TB, n int, withAffinity bool, profile func(*Scheduler) *Profile) *Scheduler {
	l := loop.New(1)
	s := &Scheduler{clock: l, log: eventlog.New(l.Elapsed), rand: l.Rand("scheduler"), profiles: map[string]*Profile{},
		nodeInfos: map[string]*framework.NodeInfo{}, podNode: map[string]string{}, assumed: map[string]bool{}, identity: "bench"}
	s.queue = newQueue(l, nil, queueLess(nil))
	prof := profile(s)
	prof.Bind = []framework.BindPlugin{nopBinder{}}
	s.profiles[prof.SchedulerName] = prof
	for i := 0; i < n; i++ {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%05d", i), Labels: map[string]string{
			corev1.LabelHostname: fmt.Sprintf("node-%05d", i), corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3)}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("110")}}}
		ni := s.allocNodeInfo(node)
		for j := 0; j < 10; j++ {
			group := ""
			if withAffinity && j%3 == 0 {
				group = fmt.Sprintf("existing-%d-%d", i, j)
			}
			p := benchPod(fmt.Sprintf("existing-%d-%d", i, j), group)
			p.Spec.NodeName = node.Name
			ni.AddPod("default/"+p.Name, framework.NewPodInfo(p))
		}
		s.nodeInfos[node.Name] = ni
		s.nodesGen++ // as the informer's node adds do
	}
	s.rebuildNodeOrder()
	return s
}

// benchPod returns a small pod; with group set it also carries the label anti=<group> and
// a required anti-affinity to that label by hostname, so a group spreads one pod per node.
func benchPod(name, group string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}}}}
	if group != "" {
		p.Labels["anti"] = group
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"anti": group}}, TopologyKey: corev1.LabelHostname}}}}
	}
	return p
}

// runCycles schedules b.N pods, one cycle each, through the whole cycle (filter with
// sampling, score, assume, reserve, bind).
func runCycles(b *testing.B, s *Scheduler, antiAffinity bool) {
	pods := make([]*corev1.Pod, b.N)
	for i := range pods {
		group := ""
		if antiAffinity {
			group = fmt.Sprintf("new-%d", i%50)
		}
		pods[i] = benchPod(fmt.Sprintf("new-%d", i), group)
	}
	b.ReportAllocs()
	// Building the cluster and the pods allocates some 200 MB, so a collection of that
	// heap is often under way when the setup ends, and would run in the timed window on
	// the cycles' CPU: finish it first. The cycles' own allocations, and any collection
	// they cause, are measured.
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := "default/" + pods[i].Name
		s.queue.add(key, pods[i], true)
		s.scheduleOne(s.queue.pop())
		if s.podNode[key] == "" {
			b.Fatalf("pod %d not scheduled", i)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}

// defaultProfile is kube-scheduler's default configuration, built through the registry.
func defaultProfile(s *Scheduler) *Profile {
	cfg := &configv1.KubeSchedulerConfiguration{}
	schedconfig.SetDefaults(cfg)
	profs, err := schedconfig.BuildProfiles(cfg, plugins.All(), s)
	if err != nil {
		panic(err)
	}
	return profs[0]
}

// BenchmarkSchedulingCycle measures whole scheduling cycles with the default profile at
// 500 and 5,000 nodes (10 pods each): simple pods in a cluster without pod affinity (as
// upstream's SchedulingBasic), and pods with a required inter-pod anti-affinity term in a
// cluster where a third of the pods carry one too.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, n := range []int{500, 5000} {
		for _, anti := range []bool{false, true} {
			name := fmt.Sprintf("nodes=%d/simple", n)
			if anti {
				name = fmt.Sprintf("nodes=%d/anti-affinity", n)
			}
			b.Run(name, func(b *testing.B) {
				runCycles(b, benchScheduler(b, n, anti, defaultProfile), anti)
			})
		}
	}
}
