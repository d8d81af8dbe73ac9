package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orrery-sim/orrery/scenarios/trace"
)

func describe(a trace.Arrival) string {
	c := a.Pod.Spec.Containers[0]
	var req []string
	for k, v := range c.Resources.Requests {
		req = append(req, string(k)+"="+v.String())
	}
	sort.Strings(req)
	var ann []string
	for k, v := range a.Pod.Annotations {
		ann = append(ann, k+"="+v)
	}
	sort.Strings(ann)
	return fmt.Sprintf("%v %s/%s life=%v req=%s ann=%s pc=%s", a.At, a.Pod.Namespace, a.Pod.Name, a.Lifetime, strings.Join(req, ","), strings.Join(ann, ","), a.Pod.Spec.PriorityClassName)
}

func gpuShapes() []Shape {
	return []Shape{
		{Weight: 5, CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi")},
		{Weight: 3, CPU: resource.MustParse("8"), Memory: resource.MustParse("32Gi"), GPUMilli: 500},
		{Weight: 2, CPU: resource.MustParse("16"), Memory: resource.MustParse("64Gi"), GPUMilli: 2000, GPUModels: []string{"V100M32"}},
	}
}

func TestGenerateFirstPods(t *testing.T) {
	tests := []struct {
		name string
		g    Generator
		want []string
	}{{
		name: "shapes, exponential lifetimes, priority mix",
		g: Generator{
			Arrivals:   Poisson{Rate: 2},
			Count:      16,
			Shapes:     gpuShapes(),
			Lifetime:   Exponential{Mean: 600},
			Priorities: []Priority{{Class: "high", Weight: 1}, {Class: "", Weight: 3}},
			Pod:        trace.PodOptions{Namespace: "synth"},
			Prefix:     "job",
		},
		want: []string{
			// Gap 0.5931/2 s; shape draw 0.4614 × 10 = 4.6 < 5: the first shape.
			"296.565858ms synth/job-0 life=21.898180476s req=cpu=4,memory=16Gi ann= pc=",
			"1.086180868s synth/job-1 life=4m20.780463273s req=cpu=4,memory=16Gi ann= pc=",
			"1.457501099s synth/job-2 life=8m55.51748532s req=cpu=4,memory=16Gi ann= pc=",
			"1.967930509s synth/job-3 life=7m46.367311755s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=",
			"2.317042661s synth/job-4 life=1m34.839193842s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=",
			"2.876447355s synth/job-5 life=4m54.937595997s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=",
			"3.166733275s synth/job-6 life=50.557962723s req=cpu=4,memory=16Gi ann= pc=",
			"3.475967852s synth/job-7 life=4.201072913s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=",
			"4.484151595s synth/job-8 life=19m30.293020672s req=cpu=4,memory=16Gi ann= pc=",
			"4.686823683s synth/job-9 life=31.275133172s req=cpu=4,memory=16Gi ann= pc=",
			"4.79880874s synth/job-10 life=13m46.420412799s req=cpu=4,memory=16Gi ann= pc=",
			"5.210795209s synth/job-11 life=4m17.015940204s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=",
			"6.477530377s synth/job-12 life=22m6.75432547s req=cpu=4,memory=16Gi ann= pc=",
			"8.270989096s synth/job-13 life=4m44.353067561s req=cpu=16,memory=64Gi,nvidia.com/gpu=2 ann=alibabacloud.com/gpu-card-model=V100M32,alibabacloud.com/gpu-count=2,alibabacloud.com/gpu-milli=1000 pc=",
			"8.531150169s synth/job-14 life=6m17.724892305s req=cpu=16,memory=64Gi,nvidia.com/gpu=2 ann=alibabacloud.com/gpu-card-model=V100M32,alibabacloud.com/gpu-count=2,alibabacloud.com/gpu-milli=1000 pc=",
			"8.969930772s synth/job-15 life=7m0.960123731s req=cpu=8,memory=32Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=500 pc=high",
		},
	}, {
		name: "log-normal sizes, fixed lifetime",
		g: Generator{
			Arrivals: Poisson{Rate: 1},
			Count:    3,
			CPU:      LogNormalMeanStd(1000, 500),
			Memory:   LogNormalMeanStd(2048, 1024),
			Lifetime: Fixed{Value: 90},
		},
		want: []string{
			"593.131715ms default/pod-0 life=1m30s req=cpu=927m,memory=2013Mi ann= pc=",
			"3.053467175s default/pod-1 life=1m30s req=cpu=740m,memory=426Mi ann= pc=",
			"3.48810128s default/pod-2 life=1m30s req=cpu=2021m,memory=1733Mi ann= pc=",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.g.Generate(rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, a := range got {
				lines = append(lines, describe(a))
			}
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestGenerateStatistics checks 10,000 pods: the shape and priority mixes and the mean
// lifetime within 4 standard errors, and the arrival rate.
func TestGenerateStatistics(t *testing.T) {
	g := Generator{
		Arrivals:   Poisson{Rate: 10},
		Count:      10000,
		Shapes:     gpuShapes(),
		Lifetime:   LogNormal{Mu: 5, Sigma: 1},
		Priorities: []Priority{{Class: "high", Weight: 1}, {Class: "low", Weight: 4}},
	}
	got, err := g.Generate(rand.New(rand.NewPCG(8, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10000 {
		t.Fatalf("%d pods", len(got))
	}
	var gpuMilli, high int64
	var life float64
	for _, a := range got {
		gpuMilli += trace.GPUMilli(a.Pod)
		if a.Pod.Spec.PriorityClassName == "high" {
			high++
		}
		life += a.Lifetime.Seconds()
	}
	// GPU per pod: 0 × 0.5 + 500 × 0.3 + 2000 × 0.2 = 550 milli, standard deviation
	// sqrt(0.3×500² + 0.2×2000² − 550²) = 752.
	if m := float64(gpuMilli) / 10000; math.Abs(m-550) > 4*752/100 {
		t.Errorf("mean GPU %v milli, want 550 ± 30", m)
	}
	// Binomial(10000, 0.2): 2000 ± 4 × 40.
	if high < 2000-160 || high > 2000+160 {
		t.Errorf("%d high-priority pods, want about 2000", high)
	}
	// Log-normal(5, 1): mean e^5.5 = 244.7 s, standard deviation 244.7 × sqrt(e − 1) = 320.8.
	if m := life / 10000; math.Abs(m-math.Exp(5.5)) > 4*320.8/100 {
		t.Errorf("mean lifetime %.1f s, want %.1f ± 12.8", m, math.Exp(5.5))
	}
	if rate := 10000 / got[len(got)-1].At.Seconds(); math.Abs(rate-10) > 0.4 {
		t.Errorf("arrival rate %.2f/s, want 10", rate)
	}
}

func TestGenerateUntil(t *testing.T) {
	g := Generator{Arrivals: Poisson{Rate: 100}, Until: 10 * time.Second, CPU: Fixed{100}, Memory: Fixed{64}}
	a, err := g.Generate(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := g.Generate(rand.New(rand.NewPCG(1, 1)))
	if len(a) != len(b) || len(a) < 900 || len(a) > 1100 {
		t.Errorf("%d then %d pods in 10 s at 100/s", len(a), len(b))
	}
	if last := a[len(a)-1]; last.At >= 10*time.Second || last.Lifetime != 0 {
		t.Errorf("last pod at %v life %v", last.At, last.Lifetime)
	}
	c := a[0].Pod.Spec.Containers[0].Resources
	if c.Requests.Cpu().String() != "100m" || c.Limits.Memory().String() != "64Mi" || c.Limits[corev1.ResourceCPU] != c.Requests[corev1.ResourceCPU] {
		t.Errorf("resources %v", c)
	}
	g.Count = 5
	if a, _ := g.Generate(rand.New(rand.NewPCG(1, 1))); len(a) != 5 {
		t.Errorf("count 5 and until 10s gave %d pods", len(a))
	}
}

func TestGeneratorValidate(t *testing.T) {
	ok := Generator{Arrivals: Poisson{Rate: 1}, Count: 1, CPU: Fixed{1}, Memory: Fixed{1}}
	tests := []struct {
		name string
		edit func(*Generator)
		want string
	}{
		{"no process", func(g *Generator) { g.Arrivals = nil }, "generator: no arrival process"},
		{"bad process", func(g *Generator) { g.Arrivals = Poisson{} }, "generator arrivals: Poisson rate 0: want a positive finite number"},
		{"no end", func(g *Generator) { g.Count = 0 }, "generator: want a count, an until time, or both"},
		{"shapes and dists", func(g *Generator) { g.Shapes = gpuShapes() }, "generator: give either shapes or cpu and memory distributions, not both"},
		{"no sizes", func(g *Generator) { g.CPU = nil }, "generator: want shapes, or both cpu and memory distributions"},
		{"bad GPU", func(g *Generator) { g.CPU, g.Memory, g.Shapes = nil, nil, []Shape{{Weight: 1, GPUMilli: 1500}} }, "generator shape 0: GPU 1500 milli: want a share below 1000 or a multiple of 1000"},
		{"zero weights", func(g *Generator) { g.CPU, g.Memory, g.Shapes = nil, nil, []Shape{{Weight: 0}} }, "generator shapes: the weights add up to 0"},
		{"bad lifetime", func(g *Generator) { g.Lifetime = Exponential{-1} }, "generator lifetime: exponential mean -1: want a positive finite number"},
		{"bad priorities", func(g *Generator) { g.Priorities = []Priority{{Class: "a", Weight: -1}} }, "generator priorities: weight 0 is -1: want a finite weight of 0 or more"},
		{"bad prefix", func(g *Generator) { g.Prefix = "Web_" }, `generator prefix "Web_": a lowercase RFC 1123 subdomain`},
		{"bad label", func(g *Generator) { g.Labels = map[string]string{"app": "a b"} }, "generator label app=a b: a valid label must"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ok
			tt.edit(&g)
			if err := g.Validate(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%v, want %s", err, tt.want)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid generator: %v", err)
	}
}
