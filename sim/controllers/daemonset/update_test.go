package daemonset_test

import (
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// setImage updates the DaemonSet's template image as the admin.
func setImage(c *simtest.Cluster, image string) {
	c.T.Helper()
	next := getDS(c).DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = image
	if _, err := c.Admin.Update(next); err != nil {
		c.T.Fatal(err)
	}
}

// TestRollingUpdate changes the image of a DaemonSet on three nodes and watches, every 100
// ms, how many nodes lack an available pod and how many pods exist, and in which order the
// nodes get their new pod.
func TestRollingUpdate(t *testing.T) {
	for _, tt := range []struct {
		name            string
		maxUnavailable  intstr.IntOrString
		maxSurge        intstr.IntOrString
		minReadySeconds int32
		wantMaxDown     int // most nodes without an available pod at one time
		wantMaxPods     int // most live pods at one time
		// wantAt is when n1, n2 and n3 first have an available new pod, after the update
		// (to the 100 ms the test polls at): an old pod takes ~0.1 s to stop and a new one
		// 2.5 s to start in the simulated runtime.
		wantAt []time.Duration
	}{
		{name: "maxUnavailable 1", maxUnavailable: intstr.FromInt32(1), wantMaxDown: 1, wantMaxPods: 3, wantAt: ms(2700, 5300, 7900)},
		{name: "maxUnavailable 1, minReadySeconds 10", maxUnavailable: intstr.FromInt32(1), minReadySeconds: 10, wantMaxDown: 1, wantMaxPods: 3, wantAt: ms(12700, 25300, 37900)},
		{name: "maxUnavailable 100%", maxUnavailable: intstr.FromString("100%"), wantMaxDown: 3, wantMaxPods: 3, wantAt: ms(2700, 2700, 2700)},
		// With surge, the new pod starts beside the old one, which goes once it is available.
		{name: "maxSurge 1", maxUnavailable: intstr.FromInt32(0), maxSurge: intstr.FromInt32(1), wantMaxDown: 0, wantMaxPods: 4, wantAt: ms(2600, 5100, 7600)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cluster(t, simtest.Node("n1", "4", "8Gi"), simtest.Node("n2", "4", "8Gi"), simtest.Node("n3", "4", "8Gi"))
			ds := daemonSet("nginx:1.26")
			ds.Spec.MinReadySeconds = tt.minReadySeconds
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &tt.maxUnavailable, MaxSurge: &tt.maxSurge}}
			c.Apply(ds)
			c.RunFor(time.Minute)
			if st := getDS(c).Status; st.NumberAvailable != 3 {
				t.Fatalf("before the update: %+v", st)
			}
			start := c.Loop.Elapsed()
			setImage(c, "nginx:1.27")
			newReady := map[string]time.Duration{} // node -> first time its new pod was available
			maxDown, maxPods := 0, 0
			for i := 0; i < 1800; i++ {
				c.RunFor(100 * time.Millisecond)
				up := map[string]bool{}
				pods := 0
				for _, p := range c.Pods() {
					if p.DeletionTimestamp != nil {
						continue
					}
					pods++
					if !controllers.IsPodAvailable(p, tt.minReadySeconds, c.Loop.Now()) {
						continue
					}
					up[p.Spec.NodeName] = true
					if _, seen := newReady[p.Spec.NodeName]; !seen && p.Spec.Containers[0].Image == "nginx:1.27" {
						newReady[p.Spec.NodeName] = c.Loop.Elapsed() - start
					}
				}
				maxDown = max(maxDown, 3-len(up))
				maxPods = max(maxPods, pods)
			}
			if maxDown != tt.wantMaxDown || maxPods != tt.wantMaxPods {
				t.Errorf("at worst %d nodes without an available pod and %d pods, want %d and %d", maxDown, maxPods, tt.wantMaxDown, tt.wantMaxPods)
			}
			var got []time.Duration
			for _, n := range []string{"n1", "n2", "n3"} {
				got = append(got, newReady[n])
			}
			if !reflect.DeepEqual(got, tt.wantAt) {
				t.Errorf("new pods available on n1, n2, n3 at %v, want %v", got, tt.wantAt)
			}
			cur := getDS(c)
			want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 3, NumberAvailable: 3, UpdatedNumberScheduled: 3, ObservedGeneration: 2}
			if !reflect.DeepEqual(cur.Status, want) {
				t.Errorf("status %+v, want %+v", cur.Status, want)
			}
			for _, p := range live(c) {
				if p.Labels["pod-template-generation"] != "2" || p.Spec.Containers[0].Image != "nginx:1.27" {
					t.Errorf("pod %s: %s, labels %v", p.Name, p.Spec.Containers[0].Image, p.Labels)
				}
			}
			revs := revisions(c)
			if len(revs) != 2 || revs[0].Revision != 1 || revs[1].Revision != 2 || revs[1].Labels["controller-revision-hash"] != live(c)[0].Labels["controller-revision-hash"] {
				t.Errorf("revisions %v", revs)
			}
		})
	}
}

// revisions lists the ControllerRevisions in namespace default by revision number.
func revisions(c *simtest.Cluster) []*appsv1.ControllerRevision {
	c.T.Helper()
	res, err := c.Admin.List("controllerrevisions", "default", apiserver.Filter{}, false)
	if err != nil {
		c.T.Fatal(err)
	}
	var out []*appsv1.ControllerRevision
	for _, o := range res.Items {
		out = append(out, o.(*appsv1.ControllerRevision))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}
