package daemonset_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/controllers/daemonset"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestFailedPodsBackoff plays a kubelet that rejects every daemon pod at once (no
// scheduler, no kubelet: the test marks each new pod Failed). The controller deletes each
// failed pod and creates another, but deletes on the node are spaced by a back-off that
// starts at 1 s and doubles, as upstream's failedPodsBackoff.
func TestFailedPodsBackoff(t *testing.T) {
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})
	cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	if _, err := admin.Create(simtest.Node("n1", "4", "8Gi")); err != nil {
		t.Fatal(err)
	}
	dss := informer.New(cm, "daemonsets", "", apiserver.Filter{})
	pods := informer.New(cm, "pods", "", apiserver.Filter{})
	pods.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	nodes := informer.New(cm, "nodes", "", apiserver.Filter{})
	revs := informer.New(cm, "controllerrevisions", "", apiserver.Filter{})
	revs.AddIndex(controllers.IndexOwner, controllers.OwnerIndex)
	daemonset.New(l, log, cm, dss, pods, nodes, revs)
	// The "kubelet": every pod it sees is rejected.
	kubelet := informer.New(admin, "pods", "", apiserver.Filter{})
	kubelet.AddHandler(informer.Handler{OnAdd: func(obj runtime.Object) {
		p := obj.(*corev1.Pod).DeepCopy()
		p.Status.Phase = corev1.PodFailed
		p.Status.Reason = "OutOfcpu"
		if _, err := admin.UpdateStatus(p); err != nil {
			t.Errorf("fail %s: %v", p.Name, err)
		}
	}})
	for _, inf := range []*informer.Informer{dss, pods, nodes, revs, kubelet} {
		if err := inf.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var deletes []time.Duration
	log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() && e.Reason == daemonset.ReasonSuccessfulDelete {
			deletes = append(deletes, e.At)
		}
	})
	if _, err := admin.Create(daemonSet("nginx:1.26")); err != nil {
		t.Fatal(err)
	}
	l.RunFor(10 * time.Second)
	// Each pod takes 3 watch latencies (5 ms each) from its creation to the controller
	// seeing it failed; the first delete is free, each later one waits out the back-off
	// (1 s, 2 s, 4 s) counted from when it saw the pod failed.
	want := ms(15, 1030, 3045, 7060)
	if !reflect.DeepEqual(deletes, want) {
		t.Errorf("deletes at %v, want %v", deletes, want)
	}
	res, err := admin.List("events", "default", apiserver.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, o := range res.Items {
		ev := o.(*corev1.Event)
		if ev.Reason == daemonset.ReasonFailedDaemonPod {
			failed++
			if ev.Type != corev1.EventTypeWarning || !strings.HasPrefix(ev.Message, "Found failed daemon pod default/agent-") || !strings.HasSuffix(ev.Message, " on node n1, will try to kill it") {
				t.Errorf("event %s %q", ev.Type, ev.Message)
			}
		}
	}
	if failed != 4 {
		t.Errorf("%d FailedDaemonPod events, want 4", failed)
	}
}
