//lint:file-ignore SA1019 the legacy Endpoints API is what the Endpoints controller writes

// Package endpointslicetest is a small harness for tests of the endpoint controllers: an
// API server on a virtual clock, shared controller-manager informers, and helpers that act
// as the kubelet does on pods (IP, readiness) through an admin client.
package endpointslicetest

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Env is a test cluster without kubelets or scheduler.
type Env struct {
	T       testing.TB
	Loop    *loop.Loop
	Log     *eventlog.Log
	API     *apiserver.Server
	Admin   *apiserver.Client
	CM      *apiserver.Client
	Actions []eventlog.Entry
	infs    map[string]*informer.Informer
	order   []*informer.Informer
}

// New returns an environment at virtual time zero.
func New(t testing.TB) *Env {
	t.Helper()
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Loop: l, Log: log, API: api, infs: map[string]*informer.Informer{},
		Admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}}),
		CM:    api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser}),
	}
	log.Subscribe(func(en *eventlog.Entry) {
		if en.IsAction() {
			e.Actions = append(e.Actions, *en)
		}
	})
	return e
}

// Informer returns the shared controller-manager informer of a resource (all namespaces).
func (e *Env) Informer(resource string) *informer.Informer {
	if inf, ok := e.infs[resource]; ok {
		return inf
	}
	inf := informer.New(e.CM, resource, "", apiserver.Filter{})
	e.infs[resource] = inf
	e.order = append(e.order, inf)
	return inf
}

// Start starts the informers.
func (e *Env) Start() {
	e.T.Helper()
	for _, inf := range e.order {
		if err := inf.Start(); err != nil {
			e.T.Fatal(err)
		}
	}
}

// Run advances virtual time by d.
func (e *Env) Run(d time.Duration) { e.Loop.RunFor(d) }

// Count counts actions with reason.
func (e *Env) Count(reason string) int {
	n := 0
	for _, a := range e.Actions {
		if a.Reason == reason {
			n++
		}
	}
	return n
}

// AddNode creates a node labelled with a zone (none if zone is empty).
func (e *Env) AddNode(name, zone string) *corev1.Node {
	e.T.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}}
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	obj, err := e.Admin.Create(n)
	if err != nil {
		e.T.Fatal(err)
	}
	return obj.(*corev1.Node)
}

// Service returns a Service selecting app=<selector> with the given ports (port→targetPort).
func Service(name, app string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"team": "a"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}, Ports: ports},
	}
}

// Port returns a TCP service port named name, port 80, to targetPort.
func Port(name string, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: target}
}

// AddService creates a Service.
func (e *Env) AddService(svc *corev1.Service) *corev1.Service {
	e.T.Helper()
	obj, err := e.Admin.Create(svc)
	if err != nil {
		e.T.Fatal(err)
	}
	return obj.(*corev1.Service)
}

// Pod returns a pod labelled app=<app> bound to node whose container names port 8080
// "http" (and 9090 "metrics").
func Pod(name, app, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}}}}},
	}
}

// AddPod creates a pod and, if ip is not empty, gives it the IP and readiness as its
// kubelet would.
func (e *Env) AddPod(p *corev1.Pod, ip string, ready bool) *corev1.Pod {
	e.T.Helper()
	obj, err := e.Admin.Create(p)
	if err != nil {
		e.T.Fatal(err)
	}
	if ip == "" {
		return obj.(*corev1.Pod)
	}
	return e.SetPodStatus(p.Name, ip, ready)
}

// SetPodStatus sets a pod Running with ip and the Ready condition, as the kubelet would.
func (e *Env) SetPodStatus(name, ip string, ready bool) *corev1.Pod {
	e.T.Helper()
	obj, err := e.Admin.Get("pods", "default", name)
	if err != nil {
		e.T.Fatal(err)
	}
	p := obj.(*corev1.Pod).DeepCopy()
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	now := metav1.NewTime(e.Loop.Now())
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	changed := true
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == st {
			changed = false
		}
	}
	if changed {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: now}}
	}
	out, err := e.Admin.UpdateStatus(p)
	if err != nil {
		e.T.Fatal(err)
	}
	return out.(*corev1.Pod)
}

// Terminate deletes a pod gracefully; with no kubelet it stays terminating.
func (e *Env) Terminate(name string) {
	e.T.Helper()
	if _, err := e.Admin.Delete("pods", "default", name, apiserver.DeleteOptions{}); err != nil {
		e.T.Fatal(err)
	}
}

// Slices returns the EndpointSlices labelled with the Service's name, in name order.
func (e *Env) Slices(service string) []*discoveryv1.EndpointSlice {
	e.T.Helper()
	res, err := e.Admin.List("endpointslices", "default", apiserver.Filter{}, false)
	if err != nil {
		e.T.Fatal(err)
	}
	var out []*discoveryv1.EndpointSlice
	for _, o := range res.Items {
		if s := o.(*discoveryv1.EndpointSlice); s.Labels[discoveryv1.LabelServiceName] == service {
			out = append(out, s)
		}
	}
	return out
}

// Endpoints returns the named Endpoints object, or nil.
func (e *Env) Endpoints(name string) *corev1.Endpoints {
	obj, err := e.Admin.Get("endpoints", "default", name)
	if err != nil {
		return nil
	}
	return obj.(*corev1.Endpoints)
}
