package nodeipam_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

type env struct {
	t     *testing.T
	l     *loop.Loop
	admin *apiserver.Client
}

// start creates the nodes given as "name" or "name=podCIDR" before the allocator starts.
func start(t *testing.T, opts nodeipam.Options, existing ...string) *env {
	l := loop.New(1)
	log := eventlog.New(l.Elapsed)
	api, err := apiserver.New(l, log, apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, l: l, admin: api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})}
	for _, n := range existing {
		name, cidr, _ := strings.Cut(n, "=")
		e.add(name, cidr)
	}
	cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
	nodes := informer.New(cm, "nodes", "", apiserver.Filter{})
	if _, err := nodeipam.New(l, log, cm, nodes, opts); err != nil {
		t.Fatal(err)
	}
	if err := nodes.Start(); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) add(name, cidr string) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if cidr != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
	}
	if _, err := e.admin.Create(n); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) del(name string) {
	if _, err := e.admin.Delete("nodes", "", name, apiserver.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) cidr(name string) string {
	obj, err := e.admin.Get("nodes", "", name)
	if err != nil {
		e.t.Fatal(err)
	}
	n := obj.(*corev1.Node)
	if len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
		e.t.Fatalf("node %s podCIDR %s podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
	}
	return n.Spec.PodCIDR
}

// step is one action: "+name" adds a node, "-name" deletes one; then time runs.
type step struct {
	do   string
	want map[string]string // node → podCIDR after the step
}

func TestAllocation(t *testing.T) {
	cases := []struct {
		name     string
		opts     nodeipam.Options
		existing []string
		steps    []step
		events   int // CIDRNotAvailable events' count
	}{
		{
			name:  "lowest blocks in join order",
			steps: []step{{do: "+n1 +n2 +n3", want: map[string]string{"n1": "10.244.0.0/24", "n2": "10.244.1.0/24", "n3": "10.244.2.0/24"}}},
		},
		{
			name:     "blocks nodes already carry are kept and skipped",
			existing: []string{"a=10.244.1.0/24", "b"},
			steps:    []step{{do: "+c", want: map[string]string{"a": "10.244.1.0/24", "b": "10.244.0.0/24", "c": "10.244.2.0/24"}}},
		},
		{
			// Upstream's allocator rotates: a freed block waits until the allocator wraps round.
			name: "freed block reused after wrapping round",
			opts: nodeipam.Options{ClusterCIDR: "10.244.0.0/22"},
			steps: []step{
				{do: "+n1 +n2 +n3", want: map[string]string{"n1": "10.244.0.0/24", "n2": "10.244.1.0/24", "n3": "10.244.2.0/24"}},
				{do: "-n2 +n4", want: map[string]string{"n4": "10.244.3.0/24"}},
				{do: "+n5", want: map[string]string{"n5": "10.244.1.0/24"}},
			},
		},
		{
			name: "exhausted range records CIDRNotAvailable until a block frees",
			opts: nodeipam.Options{ClusterCIDR: "10.244.0.0/23"},
			steps: []step{
				{do: "+n1 +n2 +n3", want: map[string]string{"n1": "10.244.0.0/24", "n2": "10.244.1.0/24", "n3": ""}},
				{do: "-n1", want: map[string]string{"n3": "10.244.0.0/24"}},
			},
			events: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.opts, tc.existing...)
			for _, s := range tc.steps {
				for _, op := range strings.Fields(s.do) {
					if op[0] == '+' {
						e.add(op[1:], "")
					} else {
						e.del(op[1:])
					}
					e.l.RunFor(time.Second)
				}
				// The retry back-off of an exhausted range reaches 5 ms·2^n: give it time.
				e.l.RunFor(10 * time.Minute)
				for node, want := range s.want {
					if got := e.cidr(node); got != want {
						t.Fatalf("after %q: node %s podCIDR %q, want %q", s.do, node, got, want)
					}
				}
			}
			res, err := e.admin.List("events", "", apiserver.Filter{}, false)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, o := range res.Items {
				if ev := o.(*corev1.Event); ev.Reason == "CIDRNotAvailable" {
					n++
					if ev.Source.Component != nodeipam.Component || ev.Message != "Node n3 status is now: CIDRNotAvailable" || ev.Count < 2 {
						t.Fatalf("event %s %q count %d", ev.Source.Component, ev.Message, ev.Count)
					}
				}
			}
			if n != tc.events {
				t.Fatalf("%d CIDRNotAvailable events, want %d", n, tc.events)
			}
		})
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []nodeipam.Options{{ClusterCIDR: "10.244.0.0"}, {NodeCIDRMaskSize: 8}, {ClusterCIDR: "10.0.0.0/8", NodeCIDRMaskSize: 25}, {ClusterCIDR: "fd00::/48"}} {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			l := loop.New(1)
			api, _ := apiserver.New(l, nil, apiserver.Options{})
			cm := api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser})
			if _, err := nodeipam.New(l, nil, cm, informer.New(cm, "nodes", "", apiserver.Filter{}), o); err == nil {
				t.Fatalf("options %+v accepted", o)
			}
		})
	}
}

// TestNoDoubleAllocation: a node update written before the allocator's patch but seen
// after its sync does not make it allocate the node a second block.
func TestNoDoubleAllocation(t *testing.T) {
	e := start(t, nodeipam.Options{})
	e.add("n1", "")
	e.l.RunFor(apiserver.DefaultWatchLatency - time.Millisecond)
	obj, err := e.admin.Get("nodes", "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	n := obj.(*corev1.Node).DeepCopy()
	n.Labels = map[string]string{"touched": "yes"}
	if _, err := e.admin.Update(n); err != nil {
		t.Fatal(err)
	}
	e.l.RunFor(time.Second)
	e.add("n2", "")
	e.l.RunFor(time.Second)
	if a, b := e.cidr("n1"), e.cidr("n2"); a != "10.244.0.0/24" || b != "10.244.1.0/24" {
		t.Fatalf("n1 %s n2 %s, want 10.244.0.0/24 and 10.244.1.0/24", a, b)
	}
}
