package kubelet_test

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/simtest"
)

// TestImagePullTime pins when containers start as image pulls take the registry
// latency (1s) plus size over bandwidth (50 MiB/s) for layers not on the node, one pull
// at a time by default.
func TestImagePullTime(t *testing.T) {
	const w = apiserver.DefaultWatchLatency
	type pod struct {
		name, image string
		policy      corev1.PullPolicy
	}
	cases := []struct {
		name     string
		parallel bool
		pods     []pod
		want     map[string]time.Duration // first start of each pod
		pulled   map[string]string        // the pod's Pulled event
	}{
		{name: "cold pull of 10 MiB", pods: []pod{{"a", "small:1", corev1.PullIfNotPresent}},
			want:   map[string]time.Duration{"a": w + time.Second + 200*time.Millisecond},
			pulled: map[string]string{"a": `Successfully pulled image "small:1" in 1.2s (1.2s including waiting). Image size: 10485760 bytes.`}},
		{name: "cold pull of 500 MiB", pods: []pod{{"a", "big:1", corev1.PullIfNotPresent}},
			want: map[string]time.Duration{"a": w + time.Second + 10*time.Second}},
		{name: "unknown size: the default 50 MiB", pods: []pod{{"a", "other:1", corev1.PullIfNotPresent}},
			want: map[string]time.Duration{"a": w + kubelet.DefaultImagePullLatency}},
		{name: "cached: no pull", pods: []pod{{"a", "cached:1", corev1.PullIfNotPresent}},
			want:   map[string]time.Duration{"a": w},
			pulled: map[string]string{"a": `Container image "cached:1" already present on machine`}},
		{name: "cached, Always: the registry check only", pods: []pod{{"a", "cached:1", corev1.PullAlways}},
			want:   map[string]time.Duration{"a": w + time.Second},
			pulled: map[string]string{"a": `Successfully pulled image "cached:1" in 1s (1s including waiting). Image size: 209715200 bytes.`}},
		{name: "queued behind a big pull", pods: []pod{{"a", "big:1", corev1.PullIfNotPresent}, {"b", "small:1", corev1.PullIfNotPresent}},
			want:   map[string]time.Duration{"a": w + 11*time.Second, "b": w + 11*time.Second + 1200*time.Millisecond},
			pulled: map[string]string{"b": `Successfully pulled image "small:1" in 1.2s (12.2s including waiting). Image size: 10485760 bytes.`}},
		{name: "same image queued: its second pull finds the layers", pods: []pod{{"a", "big:1", corev1.PullIfNotPresent}, {"b", "big:1", corev1.PullIfNotPresent}},
			want: map[string]time.Duration{"a": w + 11*time.Second, "b": w + 12*time.Second}},
		{name: "parallel pulls", parallel: true, pods: []pod{{"a", "big:1", corev1.PullIfNotPresent}, {"b", "small:1", corev1.PullIfNotPresent}},
			want: map[string]time.Duration{"a": w + 11*time.Second, "b": w + 1200*time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := simtest.Node("n1", "4", "8Gi")
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"cached:1"}, SizeBytes: 200 << 20}}
			cfg := kubelet.Config{Node: n, Images: kubelet.ImageOptions{Sizes: map[string]int64{"small:1": 10 << 20, "big:1": 500 << 20}}}
			if tc.parallel {
				cfg.SerializeImagePulls = ptr(false)
			}
			h := newHarnessWith(t, cfg)
			for _, p := range tc.pods {
				pod := profiled(p.name, "startup: 0s", corev1.RestartPolicyAlways)
				pod.Spec.Containers[0].Image = p.image
				pod.Spec.Containers[0].ImagePullPolicy = p.policy
				h.apply(pod)
			}
			h.loop.RunFor(time.Minute)
			for name, want := range tc.want {
				if got := h.started(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s started at %v, want %v", name, got, want)
				}
			}
			for name, want := range tc.pulled {
				if got := h.events(name, kubelet.EventPulled); !reflect.DeepEqual(got, []string{want}) {
					t.Errorf("%s: Pulled events %q, want %q", name, got, want)
				}
			}
		})
	}
}
