package extender

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	configv1 "k8s.io/kube-scheduler/config/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// fakeExtender is an extender service on a loopback httptest server. It records every
// request body by verb and answers from the functions set on it.
type fakeExtender struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte

	filter     func(args extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult
	prioritize func(args extenderv1.ExtenderArgs) extenderv1.HostPriorityList
	bind       func(args extenderv1.ExtenderBindingArgs) extenderv1.ExtenderBindingResult
}

func newFakeExtender(t *testing.T) *fakeExtender {
	f := &fakeExtender{t: t, bodies: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeExtender) url() string { return f.srv.URL + "/scheduler/" }

func (f *fakeExtender) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("%s %s with Content-Type %q, want a JSON POST", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	verb := strings.TrimPrefix(r.URL.Path, "/scheduler/")
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies[verb] = body
	f.mu.Unlock()
	var out any
	switch verb {
	case "filter":
		var a extenderv1.ExtenderArgs
		mustUnmarshal(f.t, body, &a)
		out = f.filter(a)
	case "prioritize":
		var a extenderv1.ExtenderArgs
		mustUnmarshal(f.t, body, &a)
		out = f.prioritize(a)
	case "bind":
		var a extenderv1.ExtenderBindingArgs
		mustUnmarshal(f.t, body, &a)
		out = f.bind(a)
	default:
		http.Error(w, "no such verb", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// body returns the last request for verb as a map of its top-level JSON fields.
func (f *fakeExtender) body(verb string) map[string]json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m map[string]json.RawMessage
	mustUnmarshal(f.t, f.bodies[verb], &m)
	return m
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return strings.Join(ks, ",")
}

func testPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-0", UID: "uid-1"}}
}

func testNodes(names ...string) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range names {
		out = append(out, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"zone": "z-" + n}}})
	}
	return out
}

func names(nodes []*corev1.Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.Name)
	}
	return strings.Join(s, ",")
}

func mustNew(t *testing.T, cfg Config) *Extender {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestFilterSendsNodes(t *testing.T) {
	f := newFakeExtender(t)
	f.filter = func(a extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult {
		if a.Pod == nil || a.Pod.Name != "web-0" || a.Nodes == nil || a.NodeNames != nil {
			t.Errorf("filter args: pod %v, nodes %v, node names %v; want the pod and Node objects only", a.Pod, a.Nodes, a.NodeNames)
		}
		if a.Nodes != nil && (len(a.Nodes.Items) != 3 || a.Nodes.Items[1].Labels["zone"] != "z-b") {
			t.Errorf("filter got nodes %+v, want a, b, c with their labels", a.Nodes.Items)
		}
		// Keep c and a, in that order; b fails, and so does an unknown node in both maps.
		return extenderv1.ExtenderFilterResult{
			Nodes:                      &corev1.NodeList{Items: []corev1.Node{*testNodes("c")[0], *testNodes("a")[0]}},
			FailedNodes:                extenderv1.FailedNodesMap{"b": "no license"},
			FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{"x": "wrong site"},
		}
	}
	e := mustNew(t, Config{URLPrefix: f.url(), FilterVerb: "filter"})
	nodes := testNodes("a", "b", "c")
	feasible, failed, unresolvable, err := e.Filter(testPod(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if names(feasible) != "c,a" || feasible[0] != nodes[2] || feasible[1] != nodes[0] {
		t.Errorf("feasible %s, want c,a as the scheduler's own objects", names(feasible))
	}
	if failed["b"] != "no license" || unresolvable["x"] != "wrong site" {
		t.Errorf("failed %v, unresolvable %v", failed, unresolvable)
	}
	// upstream's JSON: field names without tags, NodeNames null when Nodes are sent.
	body := f.body("filter")
	if got := keys(body); got != "NodeNames,Nodes,Pod" {
		t.Errorf("ExtenderArgs fields %s, want NodeNames,Nodes,Pod", got)
	}
	if string(body["NodeNames"]) != "null" || !strings.Contains(string(body["Nodes"]), `"items":[`) ||
		!strings.Contains(string(body["Pod"]), `"name":"web-0"`) {
		t.Errorf("ExtenderArgs %v", body)
	}
}

func TestFilterNodeCacheCapable(t *testing.T) {
	f := newFakeExtender(t)
	answer := []string{"b"}
	f.filter = func(a extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult {
		if a.Nodes != nil || a.NodeNames == nil || strings.Join(*a.NodeNames, ",") != "a,b,c" {
			t.Errorf("filter args: nodes %v, node names %v; want names a,b,c only", a.Nodes, a.NodeNames)
		}
		return extenderv1.ExtenderFilterResult{NodeNames: &answer, FailedNodes: extenderv1.FailedNodesMap{"a": "busy", "c": "busy"}}
	}
	e := mustNew(t, Config{URLPrefix: f.url(), FilterVerb: "filter", NodeCacheCapable: true})
	nodes := testNodes("a", "b", "c")
	feasible, failed, _, err := e.Filter(testPod(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if len(feasible) != 1 || feasible[0] != nodes[1] || len(failed) != 2 {
		t.Errorf("feasible %s, failed %v; want b, and a and c failed", names(feasible), failed)
	}
	if body := f.body("filter"); string(body["Nodes"]) != "null" || string(body["NodeNames"]) != `["a","b","c"]` {
		t.Errorf("ExtenderArgs Nodes %s, NodeNames %s; want null and the names", body["Nodes"], body["NodeNames"])
	}

	// A node that was not asked about is an error, worded as upstream's.
	answer = []string{"b", "zz"}
	_, _, _, err = e.Filter(testPod(), nodes)
	if err == nil || !strings.Contains(err.Error(), `claims a filtered node "zz" which is not found in the input node list`) {
		t.Errorf("unknown node: err %v", err)
	}
}

func TestFilterErrors(t *testing.T) {
	f := newFakeExtender(t)
	f.filter = func(extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult {
		return extenderv1.ExtenderFilterResult{Error: "license server down"}
	}
	e := mustNew(t, Config{URLPrefix: f.url(), FilterVerb: "filter"})
	if _, _, _, err := e.Filter(testPod(), testNodes("a")); err == nil || !strings.Contains(err.Error(), "license server down") {
		t.Errorf("result.Error: err %v", err)
	}
	// A verb the server does not serve: upstream's message with the status code.
	e = mustNew(t, Config{URLPrefix: f.url(), FilterVerb: "nope"})
	_, _, _, err := e.Filter(testPod(), testNodes("a"))
	if err == nil || !strings.Contains(err.Error(), "failed nope with extender at URL "+f.srv.URL+"/scheduler/nope, code 404") {
		t.Errorf("404: err %v", err)
	}
	// No filter verb: every node passes without a call.
	e = mustNew(t, Config{URLPrefix: "http://127.0.0.1:1/never"})
	nodes := testNodes("a", "b")
	if feasible, _, _, err := e.Filter(testPod(), nodes); err != nil || names(feasible) != "a,b" {
		t.Errorf("no verb: feasible %s, err %v", names(feasible), err)
	}
}

func TestPrioritizeScaling(t *testing.T) {
	f := newFakeExtender(t)
	f.prioritize = func(a extenderv1.ExtenderArgs) extenderv1.HostPriorityList {
		return extenderv1.HostPriorityList{{Host: "a", Score: 3}, {Host: "b", Score: 10}, {Host: "elsewhere", Score: 7}}
	}
	e := mustNew(t, Config{URLPrefix: f.url(), PrioritizeVerb: "prioritize", Weight: 2})
	got, err := e.Prioritize(testPod(), testNodes("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	// score × weight × (100/10): 3·2·10 = 60, 10·2·10 = 200; c unscored is 0; unknown dropped.
	want := map[string]int64{"a": 60, "b": 200, "c": 0}
	if len(got) != len(want) || got["a"] != 60 || got["b"] != 200 || got["c"] != 0 {
		t.Errorf("scores %v, want %v", got, want)
	}
	if got := keys(f.body("prioritize")); got != "NodeNames,Nodes,Pod" {
		t.Errorf("prioritize ExtenderArgs fields %s", got)
	}
	// Without a prioritize verb: zeros, no call.
	e = mustNew(t, Config{URLPrefix: "http://127.0.0.1:1/never"})
	if got, err := e.Prioritize(testPod(), testNodes("a")); err != nil || len(got) != 1 || got["a"] != 0 {
		t.Errorf("no verb: %v, %v", got, err)
	}
}

func TestBind(t *testing.T) {
	f := newFakeExtender(t)
	var got extenderv1.ExtenderBindingArgs
	f.bind = func(a extenderv1.ExtenderBindingArgs) extenderv1.ExtenderBindingResult {
		got = a
		if a.Node == "full" {
			return extenderv1.ExtenderBindingResult{Error: "node full is full"}
		}
		return extenderv1.ExtenderBindingResult{}
	}
	e := mustNew(t, Config{URLPrefix: f.url(), BindVerb: "bind"})
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-0", UID: types.UID("uid-1")}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := e.Bind(b); err != nil {
		t.Fatal(err)
	}
	if got != (extenderv1.ExtenderBindingArgs{PodName: "web-0", PodNamespace: "default", PodUID: "uid-1", Node: "n1"}) {
		t.Errorf("binding args %+v", got)
	}
	if body := f.body("bind"); keys(body) != "Node,PodName,PodNamespace,PodUID" || string(body["PodUID"]) != `"uid-1"` {
		t.Errorf("ExtenderBindingArgs JSON %v", body)
	}
	b.Target.Name = "full"
	if err := e.Bind(b); err == nil || !strings.Contains(err.Error(), "node full is full") {
		t.Errorf("bind error: %v", err)
	}
	if err := mustNew(t, Config{URLPrefix: f.url()}).Bind(b); err == nil {
		t.Error("Bind without a bind verb succeeded")
	}
}

func TestFindNodesThatPassExtenders(t *testing.T) {
	good := newFakeExtender(t)
	good.filter = func(a extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult {
		kept := []string{}
		for _, n := range *a.NodeNames {
			if n != "b" {
				kept = append(kept, n)
			}
		}
		return extenderv1.ExtenderFilterResult{NodeNames: &kept,
			FailedNodes:                extenderv1.FailedNodesMap{"b": "no license"},
			FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{"b": "wrong site"}}
	}
	second := newFakeExtender(t)
	second.filter = func(a extenderv1.ExtenderArgs) extenderv1.ExtenderFilterResult {
		if strings.Join(*a.NodeNames, ",") != "a,c" {
			t.Errorf("second extender saw %v, want the first one's a,c", *a.NodeNames)
		}
		kept := []string{"c"}
		return extenderv1.ExtenderFilterResult{NodeNames: &kept, FailedNodes: extenderv1.FailedNodesMap{"a": "too hot"}}
	}
	broken := newFakeExtender(t) // answers 404 to every verb below
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // connection refused

	ext := func(url, verb string, ignorable bool) *Extender {
		return mustNew(t, Config{URLPrefix: url, FilterVerb: verb, NodeCacheCapable: true, Ignorable: ignorable})
	}
	tests := []struct {
		name      string
		extenders []*Extender
		want      string // feasible names, or "error"
	}{
		{"chained", []*Extender{ext(good.url(), "filter", false), ext(second.url(), "filter", false)}, "c"},
		{"ignorable 404 skipped", []*Extender{ext(broken.url(), "missing", true), ext(good.url(), "filter", false)}, "a,c"},
		{"ignorable unreachable skipped", []*Extender{ext(downURL, "filter", true), ext(good.url(), "filter", false)}, "a,c"},
		{"not ignorable fails", []*Extender{ext(good.url(), "filter", false), ext(broken.url(), "missing", false)}, "error"},
		{"unreachable fails", []*Extender{ext(downURL, "filter", false)}, "error"},
	}
	for _, tt := range tests {
		statuses := framework.NodeToStatus{}
		got, err := FindNodesThatPassExtenders(tt.extenders, testPod(), testNodes("a", "b", "c"), statuses)
		if tt.want == "error" {
			if err == nil {
				t.Errorf("%s: no error, feasible %s", tt.name, names(got))
			}
			continue
		}
		if err != nil || names(got) != tt.want {
			t.Errorf("%s: feasible %s, err %v; want %s", tt.name, names(got), err, tt.want)
			continue
		}
		// b is in both maps: unresolvable wins.
		if st := statuses["b"]; st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != "wrong site" {
			t.Errorf("%s: b's status %v %q", tt.name, st.Code(), st.Message())
		}
	}
	statuses := framework.NodeToStatus{}
	FindNodesThatPassExtenders([]*Extender{ext(good.url(), "filter", false), ext(second.url(), "filter", false)}, testPod(), testNodes("a", "b", "c"), statuses)
	if st := statuses["a"]; st.Code() != framework.Unschedulable || st.Message() != "too hot" || len(statuses) != 2 {
		t.Errorf("statuses %v; want a Unschedulable (too hot) and b", statuses)
	}
}

func TestPrioritizeNodes(t *testing.T) {
	one := newFakeExtender(t)
	one.prioritize = func(extenderv1.ExtenderArgs) extenderv1.HostPriorityList {
		return extenderv1.HostPriorityList{{Host: "a", Score: 1}, {Host: "b", Score: 5}}
	}
	two := newFakeExtender(t)
	two.prioritize = func(extenderv1.ExtenderArgs) extenderv1.HostPriorityList {
		return extenderv1.HostPriorityList{{Host: "a", Score: 10}}
	}
	extenders := []*Extender{
		mustNew(t, Config{URLPrefix: one.url(), PrioritizeVerb: "prioritize", Weight: 1}),
		mustNew(t, Config{URLPrefix: two.url(), PrioritizeVerb: "prioritize", Weight: 3}),
		// Failing prioritize calls are ignored even when not Ignorable, as upstream.
		mustNew(t, Config{URLPrefix: two.url(), PrioritizeVerb: "missing", Weight: 5}),
	}
	scores, ignored := PrioritizeNodes(extenders, testPod(), testNodes("a", "b"))
	// a: 1·1·10 + 10·3·10 = 310; b: 5·1·10 = 50.
	if scores["a"] != 310 || scores["b"] != 50 || len(scores) != 2 {
		t.Errorf("scores %v, want a 310, b 50", scores)
	}
	if len(ignored) != 1 || !strings.Contains(ignored[0].Error(), "code 404") {
		t.Errorf("ignored %v, want the 404", ignored)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	e := mustNew(t, Config{URLPrefix: srv.URL, FilterVerb: "filter", HTTPTimeout: 50 * time.Millisecond})
	_, _, _, err := e.Filter(testPod(), testNodes("a"))
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("err %v, want a timeout", err)
	}
	if got := mustNew(t, Config{URLPrefix: srv.URL}).Config().HTTPTimeout; got != DefaultHTTPTimeout {
		t.Errorf("default timeout %s, want %s", got, DefaultHTTPTimeout)
	}
}

func TestIsInterestedAndBinder(t *testing.T) {
	gpuPod := testPod()
	gpuPod.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{"example.com/fpga": resource.MustParse("1")}}}}
	plain := testPod()
	plain.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}
	managed := mustNew(t, Config{URLPrefix: "http://x", BindVerb: "bind", ManagedResources: []string{"example.com/fpga"}})
	all := mustNew(t, Config{URLPrefix: "http://y", BindVerb: "bind"})
	if !managed.IsInterested(gpuPod) || managed.IsInterested(plain) || !all.IsInterested(plain) {
		t.Error("IsInterested: want managed for the fpga pod only, all for every pod")
	}
	if Binder([]*Extender{managed, all}, gpuPod) != managed || Binder([]*Extender{managed, all}, plain) != all ||
		Binder([]*Extender{mustNew(t, Config{URLPrefix: "http://z"})}, plain) != nil {
		t.Error("Binder: want the first interested binder")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfgs []Config
		want string // "" = valid
	}{
		{[]Config{{URLPrefix: "http://e", PrioritizeVerb: "p", Weight: 1}}, ""},
		{[]Config{{URLPrefix: "http://e", PrioritizeVerb: "p"}}, "extenders[0].weight: Invalid value: 0: must have a positive weight applied to it"},
		{[]Config{{FilterVerb: "f"}}, "extenders[0].urlPrefix: Required value"},
		{[]Config{{URLPrefix: "http://a", BindVerb: "b"}, {URLPrefix: "http://b", BindVerb: "b"}}, "only one extender can implement bind"},
	}
	for _, tt := range tests {
		err := ValidateAll(tt.cfgs)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: err %v, want %q", tt.cfgs, err, tt.want)
		}
	}
	if _, err := New(Config{URLPrefix: "http://e", PrioritizeVerb: "p", Weight: -2}); err == nil {
		t.Error("New accepted a negative weight")
	}
}

func TestFromV1(t *testing.T) {
	c, err := FromV1(configv1.Extender{URLPrefix: "http://e/", FilterVerb: "filter", PrioritizeVerb: "prioritize", Weight: 2,
		BindVerb: "bind", NodeCacheCapable: true, Ignorable: true, HTTPTimeout: metav1.Duration{Duration: time.Second},
		ManagedResources: []configv1.ExtenderManagedResource{{Name: "example.com/fpga"}}})
	want := Config{URLPrefix: "http://e/", FilterVerb: "filter", PrioritizeVerb: "prioritize", BindVerb: "bind", Weight: 2,
		NodeCacheCapable: true, ManagedResources: []string{"example.com/fpga"}, Ignorable: true, HTTPTimeout: time.Second}
	if err != nil || c.URLPrefix != want.URLPrefix || c.Weight != 2 || !c.NodeCacheCapable || !c.Ignorable ||
		c.HTTPTimeout != time.Second || len(c.ManagedResources) != 1 || c.BindVerb != "bind" || c.FilterVerb != "filter" {
		t.Errorf("FromV1: %+v, %v; want %+v", c, err, want)
	}
	if _, err := FromV1(configv1.Extender{URLPrefix: "http://e", PreemptVerb: "preempt"}); err == nil {
		t.Error("FromV1 accepted preemptVerb")
	}
}

// TestTransportFunc shows an in-process extender: no HTTP, the same protocol types.
func TestTransportFunc(t *testing.T) {
	tr := TransportFunc(func(verb string, req, resp any) error {
		a := req.(*extenderv1.ExtenderArgs)
		out := resp.(*extenderv1.HostPriorityList)
		for i, n := range *a.NodeNames {
			*out = append(*out, extenderv1.HostPriority{Host: n, Score: int64(i)})
		}
		return nil
	})
	e, err := NewWithTransport(Config{URLPrefix: "inproc", PrioritizeVerb: "prioritize", Weight: 1, NodeCacheCapable: true}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := e.Prioritize(testPod(), testNodes("a", "b", "c")); err != nil || s["a"] != 0 || s["b"] != 10 || s["c"] != 20 {
		t.Errorf("scores %v, %v", s, err)
	}
}
