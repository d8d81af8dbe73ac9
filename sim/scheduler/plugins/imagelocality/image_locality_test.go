package imagelocality

import (
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

type fakeHandle struct{ nodes []*framework.NodeInfo }

func (h *fakeHandle) NodeInfos() []*framework.NodeInfo { return h.nodes }
func (h *fakeHandle) NodeInfo(name string) (*framework.NodeInfo, bool) {
	for _, n := range h.nodes {
		if n.Name() == name {
			return n, true
		}
	}
	return nil, false
}
func (h *fakeHandle) NamespaceLabels(string) map[string]string { return nil }
func (h *fakeHandle) Rand() *rand.Rand                         { return nil }
func (h *fakeHandle) Client() framework.Client                 { return nil }

func nodeWithImages(name string, images ...corev1.ContainerImage) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Images: images}}
}

func image(sizeMB int64, names ...string) corev1.ContainerImage {
	return corev1.ContainerImage{Names: names, SizeBytes: sizeMB * mb}
}

func pod(init []string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{}
	for _, i := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Image: i})
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Image: c})
	}
	return p
}

func score(t *testing.T, h *fakeHandle, p *corev1.Pod) []int64 {
	t.Helper()
	pl, err := New(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	il := pl.(*ImageLocality)
	state := framework.NewCycleState()
	il.PreScore(state, p, h.nodes)
	out := make([]int64, len(h.nodes))
	for i, n := range h.nodes {
		out[i], _ = il.Score(state, p, n)
	}
	return out
}

// The node images of upstream's image_locality_test.go.
func upstreamNodes() []*framework.NodeInfo {
	return []*framework.NodeInfo{
		framework.NewNodeInfo(nodeWithImages("node1", image(40, "gcr.io/40:latest", "gcr.io/40:v1"), image(300, "gcr.io/300:latest", "gcr.io/300:v1"), image(2000, "gcr.io/2000:latest"))),
		framework.NewNodeInfo(nodeWithImages("node2", image(250, "gcr.io/250:latest"), image(10, "gcr.io/10:latest", "gcr.io/10:v1"))),
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name  string
		nodes []*framework.NodeInfo
		pod   *corev1.Pod
		want  []int64
	}{
		// Four containers, so the maximum is 4000MB. node1: 40MB*1/2 + 300MB*1/2 = 170MB →
		// 100*(170-23)/(4000-23) = 3; node2: 250MB/2 + 10MB/2 = 130MB → 100*107/3977 = 2.
		{"four containers on two nodes", upstreamNodes(), pod(nil, "gcr.io/40", "gcr.io/300", "gcr.io/250", "gcr.io/10"), []int64{3, 2}},
		// Untagged names mean :latest: node1 holds gcr.io/40:latest and gcr.io/300:latest →
		// 170MB over 2 containers → 100*(170-23)/(2000-23) = 7; node2 none → 0.
		{"untagged means latest", upstreamNodes(), pod(nil, "gcr.io/40", "gcr.io/300"), []int64{7, 0}},
		// gcr.io/40:v2 is nowhere; gcr.io/300:v1 is on node1: 150MB → 100*127/1977 = 6.
		{"tag matters", upstreamNodes(), pod(nil, "gcr.io/40:v2", "gcr.io/300:v1"), []int64{6, 0}},
		// 2000MB on one of two nodes → 1000MB, the one-container maximum → 100.
		{"large image clamps at the maximum", upstreamNodes(), pod(nil, "gcr.io/2000"), []int64{100, 0}},
		{"no image anywhere", upstreamNodes(), pod(nil, "gcr.io/none"), []int64{0, 0}},
	}
	for _, tt := range tests {
		if got := score(t, &fakeHandle{nodes: tt.nodes}, tt.pod); !eq(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPreScoreSkips: PreScore skips Score exactly when no node holds any of the pod's
// images, when every score would be 0.
func TestPreScoreSkips(t *testing.T) {
	tests := []struct {
		pod      *corev1.Pod
		wantSkip bool
	}{
		{pod(nil, "gcr.io/none"), true},
		{pod([]string{"gcr.io/none"}, "gcr.io/nothing:v9"), true},
		{pod(nil, "gcr.io/none", "gcr.io/10"), false},
		{pod([]string{"gcr.io/40:v1"}, "gcr.io/none"), false},
	}
	for _, tt := range tests {
		h := &fakeHandle{nodes: upstreamNodes()}
		pl, _ := New(nil, h)
		st := pl.(*ImageLocality).PreScore(framework.NewCycleState(), tt.pod, h.nodes)
		if got := st.Code() == framework.Skip; got != tt.wantSkip {
			t.Errorf("%v: skip %v, want %v", tt.pod.Spec, got, tt.wantSkip)
		}
	}
}

func eq(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInitContainersAndSpread counts init containers in both the sum and the maximum, and
// truncates each scaled image score: on 3 nodes with both images only on n1,
// 300MB/3 = 104857600 and int64(40MB/3) = 13981013, sum 118838613; max 2*1000MB =
// 2097152000, min 23MB = 24117248 → 100*94721365/2073034752 = 4.
func TestInitContainersAndSpread(t *testing.T) {
	h := &fakeHandle{nodes: []*framework.NodeInfo{
		framework.NewNodeInfo(nodeWithImages("n1", image(300, "reg:5000/a:latest"), image(40, "b:latest"))),
		framework.NewNodeInfo(nodeWithImages("n2")),
		framework.NewNodeInfo(nodeWithImages("n3")),
	}}
	p := pod([]string{"reg:5000/a"}, "b")
	if got := score(t, h, p); !eq(got, []int64{4, 0, 0}) {
		t.Fatalf("scores %v, want [4 0 0]", got)
	}
}

// TestIndexFollowsNodeUpdates: the index sees a node's new image list (a new Node object)
// without being rebuilt, and a changed node set rebuilds it.
func TestIndexFollowsNodeUpdates(t *testing.T) {
	nodes := upstreamNodes()
	h := &fakeHandle{nodes: nodes}
	pl, _ := New(nil, h)
	il := pl.(*ImageLocality)
	p := pod(nil, "gcr.io/2000")
	run := func() []int64 {
		state := framework.NewCycleState()
		il.PreScore(state, p, h.nodes)
		out := make([]int64, len(h.nodes))
		for i, n := range h.nodes {
			out[i], _ = il.Score(state, p, n)
		}
		return out
	}
	if got := run(); !eq(got, []int64{100, 0}) {
		t.Fatalf("before: %v", got)
	}
	// node2 pulls the image: spread 2/2, both nodes score 2000MB → clamped → 100.
	nodes[1].SetNode(nodeWithImages("node2", image(2000, "gcr.io/2000:latest")))
	if got := run(); !eq(got, []int64{100, 100}) {
		t.Fatalf("after node2 pulled: %v", got)
	}
	// A third node without the image: 2000MB*2/3 = 1333MB → still the maximum.
	// With a 1200MB image instead the spread shows: 1200MB*2/3 = 800MB → 100*777/977 = 79.
	nodes[0].SetNode(nodeWithImages("node1", image(1200, "gcr.io/2000:latest")))
	nodes[1].SetNode(nodeWithImages("node2", image(1200, "gcr.io/2000:latest")))
	h.nodes = append(h.nodes, framework.NewNodeInfo(nodeWithImages("node3")))
	if got := run(); !eq(got, []int64{79, 79, 0}) {
		t.Fatalf("three nodes: %v", got)
	}
}

func TestNormalizedImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                  "nginx:latest",
		"nginx:1.25":             "nginx:1.25",
		"localhost:5000/app":     "localhost:5000/app:latest",
		"localhost:5000/app:v1":  "localhost:5000/app:v1",
		"docker.io/library/x:v2": "docker.io/library/x:v2",
	} {
		if got := normalizedImageName(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	var nodes []*framework.NodeInfo
	for i := 0; i < 500; i++ {
		nodes = append(nodes, framework.NewNodeInfo(nodeWithImages("n"+string(rune('a'+i%26))+string(rune('a'+i/26)), image(300, "app:v1"), image(40, "sidecar:latest"))))
	}
	h := &fakeHandle{nodes: nodes}
	pl, _ := New(nil, h)
	il := pl.(*ImageLocality)
	p := pod(nil, "app:v1", "sidecar")
	state := framework.NewCycleState()
	il.PreScore(state, p, nodes)
	b.ReportAllocs()
	for b.Loop() {
		il.Score(state, p, nodes[7])
	}
}

func BenchmarkPreScore500Nodes(b *testing.B) {
	var nodes []*framework.NodeInfo
	for i := 0; i < 500; i++ {
		nodes = append(nodes, framework.NewNodeInfo(nodeWithImages("n", image(300, "app:v1"))))
	}
	h := &fakeHandle{nodes: nodes}
	pl, _ := New(nil, h)
	il := pl.(*ImageLocality)
	p := pod(nil, "app:v1")
	il.PreScore(framework.NewCycleState(), p, nodes)
	b.ReportAllocs()
	for b.Loop() {
		il.PreScore(framework.NewCycleState(), p, nodes)
	}
}
