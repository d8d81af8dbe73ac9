package scheduler_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestHTTPExtenderInTheCycle: an extender named in a KubeSchedulerConfiguration file is
// called over HTTP after the Filter plugins (it vetoes node a), after the Score plugins
// (its weighted score outweighs LeastAllocated's preference for the emptier node c), and
// binds the pods itself.
func TestHTTPExtenderInTheCycle(t *testing.T) {
	var c *simtest.Cluster
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verb := strings.TrimPrefix(r.URL.Path, "/policy/")
		calls[verb]++
		var out any
		switch verb {
		case "filter":
			var a extenderv1.ExtenderArgs
			_ = json.NewDecoder(r.Body).Decode(&a)
			res := extenderv1.ExtenderFilterResult{NodeNames: &[]string{}, FailedNodes: extenderv1.FailedNodesMap{}}
			for _, n := range *a.NodeNames {
				if n == "a" {
					res.FailedNodes[n] = "node a is reserved"
				} else {
					*res.NodeNames = append(*res.NodeNames, n)
				}
			}
			out = res
		case "prioritize":
			var a extenderv1.ExtenderArgs
			_ = json.NewDecoder(r.Body).Decode(&a)
			list := extenderv1.HostPriorityList{}
			for _, n := range *a.NodeNames {
				score := int64(0)
				if n == "b" {
					score = 10
				}
				list = append(list, extenderv1.HostPriority{Host: n, Score: score})
			}
			out = list
		case "bind":
			var a extenderv1.ExtenderBindingArgs
			_ = json.NewDecoder(r.Body).Decode(&a)
			err := c.Admin.Bind(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: a.PodNamespace, Name: a.PodName, UID: a.PodUID}, Target: corev1.ObjectReference{Kind: "Node", Name: a.Node}})
			res := extenderv1.ExtenderBindingResult{}
			if err != nil {
				res.Error = err.Error()
			}
			out = res
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()

	file := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
extenders:
- urlPrefix: %s/policy
  filterVerb: filter
  prioritizeVerb: prioritize
  bindVerb: bind
  weight: 5
  nodeCacheCapable: true
`, srv.URL)
	cfg, err := schedconfig.ParseFor("extender.yaml", []byte(file), schedconfig.PluginNames(plugins.All()))
	if err != nil {
		t.Fatal(err)
	}
	c = simtest.NewWithConfig(t, sim.Config{Seed: 1, SchedulerConfig: cfg,
		Nodes: []*corev1.Node{simtest.Node("a", "4", "8Gi"), simtest.Node("b", "4", "8Gi"), simtest.Node("c", "8", "16Gi")}})
	binders := map[string]int{}
	c.Log.Subscribe(func(e *eventlog.Entry) {
		if e.Verb == "create" && strings.HasPrefix(e.Resource, "pods/binding") {
			binders[e.Actor]++
		}
	})
	for i := 0; i < 3; i++ {
		c.Apply(simtest.Pod(fmt.Sprintf("p%d", i), "500m", "512Mi"))
		c.RunFor(time.Second)
	}
	for i := 0; i < 3; i++ {
		if p := c.Pod(fmt.Sprintf("p%d", i)); p.Spec.NodeName != "b" {
			t.Errorf("p%d on %q, want b (a vetoed, b preferred by the extender)", i, p.Spec.NodeName)
		}
	}
	// A pod that only node a fits is vetoed by the extender, and told why.
	onA := simtest.Pod("on-a", "100m", "64Mi")
	onA.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "a"}
	c.Apply(onA)
	c.RunFor(time.Second)
	want := "0/3 nodes are available: 1 node a is reserved, 2 node(s) didn't match Pod's node affinity/selector."
	if cond := scheduledCondition(c.Pod("on-a")); cond == nil || !strings.HasPrefix(cond.Message, want) {
		t.Errorf("on-a condition %+v, want message starting %q", cond, want)
	}
	calls["filter"]--
	if calls["filter"] != 3 || calls["prioritize"] != 3 || calls["bind"] != 3 {
		t.Errorf("extender calls %v, want 3 of each", calls)
	}
	// The extender bound the pods, with its own credentials: the scheduler made no binding.
	if binders[apiserver.AdminUser] != 3 || binders[apiserver.SchedulerUser] != 0 {
		t.Errorf("bindings by %v, want 3 by the extender's user and none by the scheduler", binders)
	}
}
