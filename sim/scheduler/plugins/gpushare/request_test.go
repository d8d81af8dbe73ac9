package gpushare_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

func TestRequestOf(t *testing.T) {
	annotated := func(ann map[string]string) *corev1.Pod {
		p := gputest.Pod("p", 1000, 0, 0)
		p.Annotations = ann
		return p
	}
	resourceOnly := gputest.Pod("r", 1000, 0, 0)
	resourceOnly.Spec.Containers[0].Resources.Requests[gpushare.ResourceGPU] = resource.MustParse("2")
	tests := []struct {
		name    string
		pod     *corev1.Pod
		want    gpushare.Request
		kind    string
		wantErr bool
	}{
		{"cpu only", gputest.Pod("c", 1000, 0, 0), gpushare.Request{}, "no-gpu", false},
		{"share", gputest.Pod("s", 1000, 1, 460), gpushare.Request{Count: 1, Milli: 460}, "share-gpu", false},
		{"whole", gputest.Pod("w", 1000, 4, 1000), gpushare.Request{Count: 4, Milli: 1000}, "4-gpu", false},
		{"models", gputest.Pod("m", 1000, 1, 500, "V100M16", "V100M32"),
			gpushare.Request{Count: 1, Milli: 500, Models: []string{"V100M16", "V100M32"}, ModelSpec: "V100M16|V100M32"}, "share-gpu", false},
		{"nvidia.com/gpu without annotations", resourceOnly, gpushare.Request{Count: 2, Milli: 1000}, "2-gpu", false},
		{"zero both", annotated(map[string]string{gpushare.AnnotationGPUCount: "0", gpushare.AnnotationGPUMilli: "0"}), gpushare.Request{}, "no-gpu", false},
		{"share of two GPUs", annotated(map[string]string{gpushare.AnnotationGPUCount: "2", gpushare.AnnotationGPUMilli: "500"}), gpushare.Request{}, "", true},
		{"over 1000", annotated(map[string]string{gpushare.AnnotationGPUCount: "1", gpushare.AnnotationGPUMilli: "1500"}), gpushare.Request{}, "", true},
		{"milli without count", annotated(map[string]string{gpushare.AnnotationGPUMilli: "500"}), gpushare.Request{}, "", true},
		{"count without milli", annotated(map[string]string{gpushare.AnnotationGPUCount: "1", gpushare.AnnotationGPUMilli: "0"}), gpushare.Request{}, "", true},
		{"not a number", annotated(map[string]string{gpushare.AnnotationGPUCount: "one", gpushare.AnnotationGPUMilli: "500"}), gpushare.Request{}, "", true},
	}
	for _, tt := range tests {
		got, err := gpushare.RequestOf(tt.pod)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if !tt.wantErr && got.Kind() != tt.kind {
			t.Errorf("%s: kind %q, want %q", tt.name, got.Kind(), tt.kind)
		}
	}
}

func TestAllows(t *testing.T) {
	any := gpushare.Request{Count: 1, Milli: 500}
	v100 := gpushare.Request{Count: 1, Milli: 500, Models: []string{"V100M16", "V100M32"}}
	for _, tt := range []struct {
		r     gpushare.Request
		model string
		want  bool
	}{
		{any, "T4", true}, {any, "", true},
		{v100, "V100M32", true}, {v100, "T4", false}, {v100, "", false},
	} {
		if got := tt.r.Allows(tt.model); got != tt.want {
			t.Errorf("%v allows %q: %v, want %v", tt.r.Models, tt.model, got, tt.want)
		}
	}
}

func TestIndex(t *testing.T) {
	idx, err := gpushare.ParseIndex("0-3-7")
	if err != nil || !reflect.DeepEqual(idx, []int{0, 3, 7}) {
		t.Fatalf("ParseIndex(0-3-7) = %v, %v", idx, err)
	}
	if s := gpushare.FormatIndex(idx); s != "0-3-7" {
		t.Errorf("FormatIndex = %q", s)
	}
	for _, bad := range []string{"", "a", "1--2", "-1"} {
		if _, err := gpushare.ParseIndex(bad); err == nil {
			t.Errorf("ParseIndex(%q) accepted", bad)
		}
	}
}
