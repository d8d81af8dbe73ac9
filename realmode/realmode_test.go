package realmode_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/realmode"
	"github.com/orrery-sim/orrery/realmode/daemon"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/controllers/nodelifecycle"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// env is the package's containerd and workload image, shared by the tests (nil when real
// mode cannot run here: skip says why).
var (
	env  *realmode.Env
	skip string
)

func TestMain(m *testing.M) {
	code := func() int {
		if err := daemon.Preflight(); err != nil {
			skip = "real mode cannot run here: " + err.Error()
			return m.Run()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var err error
		if env, err = realmode.Start(ctx, realmode.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		if err := env.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close the real-mode env:", err)
			code = 1
		}
		return code
	}()
	os.Exit(code)
}

// fastKubelet and fastNodeLifecycle scale Kubernetes' node timings down so that a node
// failure is seen in seconds.
var (
	fastKubelet       = kubelet.Config{NodeStatusUpdateFrequency: time.Second, LeaseRenewInterval: time.Second, LeaseDuration: 4 * time.Second, BackOffInitial: time.Second, BackOffMax: 4 * time.Second}
	fastNodeLifecycle = nodelifecycle.Options{MonitorPeriod: time.Second, GracePeriod: 4 * time.Second}
)

// realCluster is a cluster whose nodes run real containers.
type realCluster struct {
	*simtest.Cluster
	run *realmode.Run
}

// newRealCluster builds a cluster of the nodes on containerd, closing its run (and
// checking that nothing is left of it) when the test ends.
func newRealCluster(t *testing.T, nodes ...*corev1.Node) *realCluster {
	t.Helper()
	return newWrappedCluster(t, nil, nodes...)
}

// newWrappedCluster is newRealCluster with each node's runtime wrapped by wrap (nil: none).
func newWrappedCluster(t *testing.T, wrap func(loop.Clock, kubelet.Runtime) kubelet.Runtime, nodes ...*corev1.Node) *realCluster {
	t.Helper()
	if env == nil {
		t.Skip(skip)
	}
	l := loop.New(1)
	run, err := env.NewRun(l, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("close run: %v", err)
		}
		for _, left := range leftovers(t, run) {
			t.Errorf("left behind: %s", left)
		}
	})
	rt := run.Runtime
	if wrap != nil {
		rt = func(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error) {
			r, err := run.Runtime(clock, cfg)
			if err != nil {
				return nil, err
			}
			return wrap(clock, r), nil
		}
	}
	cfg := sim.Config{Seed: 1, Nodes: nodes, Kubelet: fastKubelet, NodeLifecycle: fastNodeLifecycle, Runtime: rt}
	c, err := sim.NewWithLog(cfg, l, eventlog.New(l.Elapsed))
	if err != nil {
		t.Fatal(err)
	}
	tc := &simtest.Cluster{Cluster: c, T: t}
	c.Log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() {
			tc.Actions = append(tc.Actions, *e)
		}
	})
	return &realCluster{Cluster: tc, run: run}
}

// runUntil runs the cluster by the wall clock until done holds, failing after timeout.
func (c *realCluster) runUntil(timeout time.Duration, what string, done func() bool) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	if err := c.run.Pacer.RunFor(ctx, timeout, done); err != nil {
		c.T.Fatalf("waiting for %s: %v", what, err)
	}
	if !done() {
		c.T.Fatalf("no %s within %v", what, timeout)
	}
}

// leftovers lists what the closed run left in containerd, the cgroups and the mounts.
func leftovers(t *testing.T, run *realmode.Run) []string {
	var out []string
	ctx := context.Background()
	nss, err := env.Client.NamespaceService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss {
		if strings.HasPrefix(ns, run.Name) {
			out = append(out, "containerd namespace "+ns)
		}
	}
	out = append(out, run.Host.Cgroups().Leftovers(run.Host.CgroupRoot())...)
	for _, ns := range run.Host.Namespaces() {
		for _, d := range []string{"/run/containerd/runc/" + ns, "/run/containerd/io.containerd.runtime.v2.task/" + ns} {
			if _, err := os.Stat(d); err == nil {
				out = append(out, d)
			}
		}
		for _, m := range daemon.MountsUnder("/") {
			if strings.Contains(m, "/"+ns+"/") {
				out = append(out, "mount "+m)
			}
		}
	}
	return out
}

// node returns a node with the capacity.
func node(name, cpu, memory string) *corev1.Node { return simtest.Node(name, cpu, memory) }

// usagePod returns a pod template's spec with one container of the usage profile, the
// requests and (if not empty) memory limit.
func podSpec(usage, memLimit string, grace int64) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: "app:v1", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")}}}
	if memLimit != "" {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memLimit)}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{model.UsageAnnotation: usage}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: &grace},
	}
}

func deployment(name string, replicas int32, tmpl corev1.PodTemplateSpec) *appsv1.Deployment {
	tmpl.Labels = map[string]string{"app": name}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: tmpl},
	}
}

// running counts the pods in phase Running with every container running.
func (c *realCluster) running() int {
	n := 0
	for _, p := range c.Pods() {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
			n++
		}
	}
	return n
}

// tasks counts the node's containerd tasks in each status.
func (c *realCluster) tasks(nodeName string) map[string]int {
	c.T.Helper()
	return nsTasks(c.T.(*testing.T), env.Client, c.run.Node(nodeName).Namespace())
}

// nsTasks counts a namespace's containerd tasks in each status ("none": containers
// without a task).
func nsTasks(t *testing.T, client *containerd.Client, ns string) map[string]int {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), ns)
	ctrs, err := client.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, ctr := range ctrs {
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			out["none"]++
			continue
		}
		st, err := task.Status(ctx)
		if err != nil {
			out["unknown"]++
			continue
		}
		out[string(st.Status)]++
	}
	return out
}

func TestDeploymentStartsRealContainers(t *testing.T) {
	t.Parallel()
	c := newRealCluster(t, node("n1", "2", "1Gi"))
	c.Apply(deployment("web", 3, podSpec("cpu: 20m\nmemory: 16Mi", "", 2)))
	start := time.Now()
	c.runUntil(30*time.Second, "3 running pods", func() bool { return c.running() == 3 })
	t.Logf("3 pods running after %v of wall time (virtual %v)", time.Since(start).Round(time.Millisecond), c.Loop.Elapsed())
	if got := c.tasks("n1"); got["running"] != 3 {
		t.Fatalf("containerd tasks on n1: %v, want 3 running", got)
	}
}
