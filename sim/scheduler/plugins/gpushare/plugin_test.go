package gpushare_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

func newPlugin(t *testing.T, h framework.Handle) *gpushare.GPUShare {
	t.Helper()
	p, err := gpushare.New(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*gpushare.GPUShare)
}

func TestFilter(t *testing.T) {
	t4 := gputest.Node("t4", "T4", 2, 32000)
	v100 := gputest.Node("v100", "V100M32", 4, 32000)
	cpu := gputest.Node("cpu", "", 0, 32000)
	used := gputest.Info(t4, gputest.On(gputest.Pod("a", 1000, 1, 700), "t4", 0), gputest.On(gputest.Pod("b", 1000, 1, 500), "t4", 1))
	tests := []struct {
		name string
		pod  *corev1.Pod
		ni   *framework.NodeInfo
		code framework.Code
		msg  string
	}{
		{"share fits an empty GPU", gputest.Pod("p", 1000, 1, 500), gputest.Info(t4), framework.Success, ""},
		{"share fits GPU 1's 500", gputest.Pod("p", 1000, 1, 500), used, framework.Success, ""},
		{"share of 600: no GPU has it", gputest.Pod("p", 1000, 1, 600), used, framework.Unschedulable, gpushare.ErrReasonShare},
		{"whole GPU: shares hold both", gputest.Pod("p", 1000, 1, 1000), used, framework.Unschedulable, gpushare.ErrReasonWhole},
		{"four whole GPUs on four free", gputest.Pod("p", 1000, 4, 1000), gputest.Info(v100), framework.Success, ""},
		{"model allowed", gputest.Pod("p", 1000, 1, 500, "V100M16", "V100M32"), gputest.Info(v100), framework.Success, ""},
		{"model not allowed", gputest.Pod("p", 1000, 1, 500, "V100M16", "V100M32"), gputest.Info(t4), framework.UnschedulableAndUnresolvable, gpushare.ErrReasonModel},
		{"model on a node without GPUs", gputest.Pod("p", 1000, 1, 500, "T4"), gputest.Info(cpu), framework.UnschedulableAndUnresolvable, gpushare.ErrReasonModel},
		{"share on a node without GPUs", gputest.Pod("p", 1000, 1, 500), gputest.Info(cpu), framework.Unschedulable, gpushare.ErrReasonShare},
		{"cpu pod anywhere", gputest.Pod("p", 1000, 0, 0), used, framework.Success, ""},
	}
	for _, tt := range tests {
		p := newPlugin(t, nil)
		state := framework.NewCycleState()
		st := p.PreFilter(state, tt.pod)
		if st.Code() == framework.Skip {
			if tt.code != framework.Success {
				t.Errorf("%s: PreFilter skipped, want %v", tt.name, tt.code)
			}
			continue
		}
		st = p.Filter(state, tt.pod, tt.ni)
		if st.Code() != tt.code || st.Message() != tt.msg {
			t.Errorf("%s: %v %q, want %v %q", tt.name, st.Code(), st.Message(), tt.code, tt.msg)
		}
	}
}

func TestPreFilter(t *testing.T) {
	p := newPlugin(t, nil)
	if st := p.PreFilter(framework.NewCycleState(), gputest.Pod("c", 1000, 0, 0)); st.Code() != framework.Skip {
		t.Errorf("cpu pod: %v, want Skip", st.Code())
	}
	bad := gputest.Pod("b", 1000, 1, 500)
	bad.Annotations[gpushare.AnnotationGPUCount] = "2"
	st := p.PreFilter(framework.NewCycleState(), bad)
	want := `annotations alibabacloud.com/gpu-count "2" and alibabacloud.com/gpu-milli "500": a share of a GPU is for one GPU only`
	if st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != want {
		t.Errorf("bad request: %v %q, want UnschedulableAndUnresolvable %q", st.Code(), st.Message(), want)
	}
}

// reserve runs PreFilter, the scheduler's assume (the pod added to its node) and Reserve,
// as a scheduling cycle does.
func reserve(t *testing.T, p *gpushare.GPUShare, h *gputest.Handle, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	t.Helper()
	if state == nil {
		state = framework.NewCycleState()
	}
	p.PreFilter(state, pod)
	ni, _ := h.NodeInfo(node)
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = node
	pi := framework.NewPodInfo(assumed)
	ni.AddPod(pod.Namespace+"/"+pod.Name, pi)
	st := p.Reserve(state, pod, node)
	if !st.IsSuccess() {
		ni.RemovePod(pod.Namespace+"/"+pod.Name, pi)
	}
	return st
}

// TestReserveAndBind pins the GPUs pods get and the bindings that carry them: shares by
// best fit unless the cycle's policy chose, whole GPUs on fully free ones, and the reserved
// GPUs seen by the next cycles until the binding comes back.
func TestReserveAndBind(t *testing.T) {
	client := &gputest.Client{}
	h := gputest.Cluster(client, []*corev1.Node{gputest.Node("n", "G2", 4, 96000)})
	p := newPlugin(t, h)
	ni, _ := h.NodeInfo("n")
	steps := []struct {
		pod    *corev1.Pod
		choose gpushare.Chooser
		want   []int
		free   []int64
	}{
		{gputest.Pod("s1", 1000, 1, 600), nil, []int{0}, []int64{400, 1000, 1000, 1000}},
		// Best fit: GPU 0's 400 holds 300.
		{gputest.Pod("s2", 1000, 1, 300), nil, []int{0}, []int64{100, 1000, 1000, 1000}},
		// Two whole GPUs: the fully free ones of lowest index.
		{gputest.Pod("w2", 1000, 2, 1000), nil, []int{1, 2}, []int64{100, 0, 0, 1000}},
		// A policy's choice is kept.
		{gputest.Pod("s3", 1000, 1, 50), gpushare.WorstFit, []int{3}, []int64{100, 0, 0, 950}},
	}
	for _, s := range steps {
		state := framework.NewCycleState()
		if s.choose != nil {
			gpushare.SetChooser(state, s.choose)
		}
		if st := reserve(t, p, h, state, s.pod, "n"); !st.IsSuccess() {
			t.Fatalf("%s: %v", s.pod.Name, st.Message())
		}
		if got := p.Reserved(s.pod, "n"); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: GPUs %v, want %v", s.pod.Name, got, s.want)
		}
		if got := p.Node(ni).Free; !reflect.DeepEqual(got, s.free) {
			t.Errorf("after %s: free %v, want %v", s.pod.Name, got, s.free)
		}
		if st := p.Bind(state, s.pod, "n"); !st.IsSuccess() {
			t.Fatalf("bind %s: %v", s.pod.Name, st.Message())
		}
	}
	var got []string
	for _, b := range client.Bindings {
		got = append(got, b.Name+"@"+b.Target.Name+":"+b.Annotations[gpushare.AnnotationGPUIndex])
	}
	if want := []string{"s1@n:0", "s2@n:0", "w2@n:1-2", "s3@n:3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bindings %v, want %v", got, want)
	}
	// When the bindings come back (the pods with their index), the reservations go and the
	// view stays the same.
	for _, name := range []string{"s1", "s2", "w2", "s3"} {
		key := "default/" + name
		bound := ni.Pods[key].Pod.DeepCopy()
		var idx string
		for _, b := range client.Bindings {
			if b.Name == name {
				idx = b.Annotations[gpushare.AnnotationGPUIndex]
			}
		}
		bound.Annotations[gpushare.AnnotationGPUIndex] = idx
		ni.AddPod(key, framework.NewPodInfo(bound))
	}
	if got := p.Node(ni).Free; !reflect.DeepEqual(got, []int64{100, 0, 0, 950}) {
		t.Errorf("after the bindings came back: free %v", got)
	}
	if got := p.Reserved(steps[0].pod, "n"); got != nil {
		t.Errorf("s1 still reserved: %v", got)
	}
	// A third whole GPU does not fit: Filter says so, and Reserve refuses too.
	big := gputest.Pod("w3", 1000, 2, 1000)
	state := framework.NewCycleState()
	p.PreFilter(state, big)
	if st := p.Filter(state, big, ni); st.Message() != gpushare.ErrReasonWhole {
		t.Errorf("w3 filter: %q", st.Message())
	}
	if st := reserve(t, p, h, nil, big, "n"); st.IsSuccess() {
		t.Error("w3 reserved")
	}
	// Unreserve takes back what Reserve gave.
	s4 := gputest.Pod("s4", 1000, 1, 100)
	if st := reserve(t, p, h, nil, s4, "n"); !st.IsSuccess() || p.Reserved(s4, "n") == nil {
		t.Fatalf("s4: %v", st.Message())
	}
	p.Unreserve(framework.NewCycleState(), s4, "n")
	ni.RemovePod("default/s4", ni.Pods["default/s4"])
	if got := p.Node(ni).Free; p.Reserved(s4, "n") != nil || !reflect.DeepEqual(got, []int64{100, 0, 0, 950}) {
		t.Errorf("after unreserving s4: free %v", got)
	}
	// A deleted pod's GPUs are free again; a CPU pod is left to the next binder.
	ni.RemovePod("default/w2", ni.Pods["default/w2"])
	if got := p.Node(ni).Free; !reflect.DeepEqual(got, []int64{100, 1000, 1000, 950}) {
		t.Errorf("after unreserving w2: free %v", got)
	}
	if st := p.Bind(framework.NewCycleState(), gputest.Pod("c", 1000, 0, 0), "n"); st.Code() != framework.Skip {
		t.Errorf("cpu pod bind: %v, want Skip", st.Code())
	}
}

// TestNeverOverOneGPU places random GPU pods, with random policies choosing among the
// GPUs offered, until nothing fits, and checks that no GPU ever holds more than 1000
// thousandths, that whole-GPU pods get fully free GPUs, that model constraints hold, and
// that the binding annotations agree with the plugin's view.
func TestNeverOverOneGPU(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	nodes := []*corev1.Node{gputest.Node("g2", "G2", 8, 96000), gputest.Node("t4", "T4", 2, 104000), gputest.Node("p100", "P100", 4, 64000), gputest.Node("cpu", "", 0, 32000)}
	client := &gputest.Client{}
	h := gputest.Cluster(client, nodes)
	p := newPlugin(t, h)
	random := gpushare.ChooserFunc(func(rq gpushare.Request, n *gpushare.Node) []int {
		var fit []int
		for i, f := range n.Free {
			if (rq.Share() && f >= rq.Milli) || f == gpushare.MilliPerGPU {
				fit = append(fit, i)
			}
		}
		r.Shuffle(len(fit), func(i, j int) { fit[i], fit[j] = fit[j], fit[i] })
		if len(fit) < rq.Count {
			return nil
		}
		return fit[:rq.Count]
	})
	shapes := []struct {
		count int
		milli int64
	}{{1, 100}, {1, 250}, {1, 460}, {1, 500}, {1, 750}, {1, 1000}, {2, 1000}, {4, 1000}, {8, 1000}}
	models := [][]string{nil, nil, {"G2"}, {"T4", "P100"}}
	placed := 0
	for i := 0; i < 400; i++ {
		s := shapes[r.IntN(len(shapes))]
		pod := gputest.Pod("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1000, s.count, s.milli, models[r.IntN(len(models))]...)
		for _, ni := range h.Nodes {
			state := framework.NewCycleState()
			gpushare.SetChooser(state, random)
			p.PreFilter(state, pod)
			if !p.Filter(state, pod, ni).IsSuccess() {
				continue
			}
			if st := reserve(t, p, h, state, pod, ni.Name()); !st.IsSuccess() {
				t.Fatalf("%s on %s passed Filter but not Reserve: %v", pod.Name, ni.Name(), st.Message())
			}
			rq, _ := gpushare.RequestOf(pod)
			if !rq.Allows(ni.Node.Labels[gpushare.LabelGPUModel]) {
				t.Fatalf("%s (models %v) placed on %s", pod.Name, rq.Models, ni.Name())
			}
			p.Bind(state, pod, ni.Name())
			placed++
			break
		}
	}
	if placed < 20 {
		t.Fatalf("only %d pods placed", placed)
	}
	// Rebuild every GPU's load from the bindings alone.
	load := map[string][]int64{}
	for _, n := range nodes {
		load[n.Name] = make([]int64, gpushare.NewNode(gputest.Info(n), nil, "").GPUs())
	}
	pods := map[string]*corev1.Pod{}
	for _, ni := range h.Nodes {
		for _, pi := range ni.PodList() {
			pods[pi.Pod.Name] = pi.Pod
		}
	}
	for _, b := range client.Bindings {
		rq, _ := gpushare.RequestOf(pods[b.Name])
		idx, err := gpushare.ParseIndex(b.Annotations[gpushare.AnnotationGPUIndex])
		if err != nil || len(idx) != rq.Count {
			t.Fatalf("%s: index %q for %d GPUs", b.Name, b.Annotations[gpushare.AnnotationGPUIndex], rq.Count)
		}
		for _, g := range idx {
			if !rq.Share() && load[b.Target.Name][g] != 0 {
				t.Errorf("%s: whole GPU %d of %s already held %d", b.Name, g, b.Target.Name, load[b.Target.Name][g])
			}
			load[b.Target.Name][g] += rq.Milli
		}
	}
	for _, ni := range h.Nodes {
		view := p.Node(ni)
		for g, l := range load[ni.Name()] {
			if l > gpushare.MilliPerGPU {
				t.Errorf("%s GPU %d holds %d thousandths", ni.Name(), g, l)
			}
			if view.Free[g] != gpushare.MilliPerGPU-l {
				t.Errorf("%s GPU %d: plugin says %d free, bindings %d", ni.Name(), g, view.Free[g], gpushare.MilliPerGPU-l)
			}
		}
	}
}
