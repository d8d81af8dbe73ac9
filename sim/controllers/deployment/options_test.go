package deployment_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
	"github.com/orrery-sim/orrery/sim/controllers/replicaset"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// harness is an API server with the ReplicaSet controller and a Deployment controller
// built with options; the test plays the kubelet.
type harness struct {
	t     *testing.T
	loop  *loop.Loop
	admin *apiserver.Client
}

func newHarness(t *testing.T, opts deployment.Options) *harness {
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	pods.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	rss := informer.New(cm, "replicasets", "", apiserver.Filter{})
	rss.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	deploys := informer.New(cm, "deployments", "", apiserver.Filter{})
	replicaset.New(l, log, cm, rss, pods)
	deployment.NewWithOptions(l, log, cm, deploys, rss, pods, opts)
	for _, inf := range []*informer.Informer{pods, rss, deploys} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return &harness{t: t, loop: l, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
}

// kubelet binds every new pod to node n1 and makes it running and ready.
func (h *harness) kubelet() {
	h.t.Helper()
	res, err := h.admin.List("pods", "default", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, o := range res.Items {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp != nil || podReady(p) {
			continue
		}
		if p.Spec.NodeName == "" {
			if err := h.admin.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
				h.t.Fatal(err)
			}
			obj, err := h.admin.Get("pods", p.Namespace, p.Name)
			if err != nil {
				h.t.Fatal(err)
			}
			p = obj.(*corev1.Pod)
		}
		now := metav1.NewTime(h.loop.Now())
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now})
		if _, err := h.admin.UpdateStatus(p); err != nil {
			h.t.Fatal(err)
		}
	}
}

// run advances d in steps of 100 ms, playing the kubelet after each.
func (h *harness) run(d time.Duration) {
	for end := h.loop.Now().Add(d); h.loop.Now().Before(end); {
		h.loop.RunFor(100 * time.Millisecond)
		h.kubelet()
	}
}

func (h *harness) deployment() *appsv1.Deployment {
	h.t.Helper()
	obj, err := h.admin.Get("deployments", "default", "web")
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*appsv1.Deployment)
}

func (h *harness) replicaSets() int {
	h.t.Helper()
	res, err := h.admin.List("replicasets", "default", apiserver.Filter{}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(res.Items)
}

// TestTerminatingPodsBlockCleanup runs with status.terminatingReplicas enabled and
// revisionHistoryLimit 0: after a rollout the old pods stay terminating (no kubelet
// finishes them), the Deployment reports them, and the old ReplicaSet is kept until they
// are gone.
func TestTerminatingPodsBlockCleanup(t *testing.T) {
	h := newHarness(t, deployment.Options{TerminatingReplicas: true})
	d := deploy(2, "nginx:1.26")
	d.Spec.RevisionHistoryLimit = ptrTo(int32(0))
	if _, err := h.admin.Create(d); err != nil {
		t.Fatal(err)
	}
	h.run(5 * time.Second)
	if st := h.deployment().Status; st.AvailableReplicas != 2 || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 0 {
		t.Fatalf("status before the rollout %+v", st)
	}
	next := h.deployment().DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	if _, err := h.admin.Update(next); err != nil {
		t.Fatal(err)
	}
	h.run(10 * time.Second)
	st := h.deployment().Status
	if st.UpdatedReplicas != 2 || st.Replicas != 2 || st.AvailableReplicas != 2 || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 2 {
		t.Fatalf("status after the rollout %+v", st)
	}
	if n := h.replicaSets(); n != 2 {
		t.Fatalf("%d ReplicaSets while old pods terminate, want 2", n)
	}
	// The kubelet finishes the old pods: the old ReplicaSet goes.
	res, _ := h.admin.List("pods", "default", apiserver.Filter{}, false)
	zero := int64(0)
	for _, o := range res.Items {
		if p := o.(*corev1.Pod); p.DeletionTimestamp != nil {
			if _, err := h.admin.Delete("pods", p.Namespace, p.Name, apiserver.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.run(time.Second)
	if n := h.replicaSets(); n != 1 {
		t.Fatalf("%d ReplicaSets after the old pods finished, want 1", n)
	}
	if st := h.deployment().Status; *st.TerminatingReplicas != 0 {
		t.Fatalf("terminating %d", *st.TerminatingReplicas)
	}
}
