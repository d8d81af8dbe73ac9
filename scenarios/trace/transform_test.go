package trace

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func smallPool(t *testing.T) []Arrival {
	return readOpenBPods(t, "testdata/openb_pod_list_small.csv", OpenBOptions{})
}

func names(as []Arrival) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Pod.Name
	}
	return out
}

func TestProtocolSample(t *testing.T) {
	pool := smallPool(t)
	// The pool requests 1+0.46+1+1+8+0.44+1+1+1+2+4+0.23 = 21.13 GPUs; 31 GPUs at 50% is
	// 15.5 GPUs.
	tests := []struct {
		name      string
		p         Protocol
		capacity  int64
		wantNames []string
		wantAt    []time.Duration
		err       string
	}{{
		name:     "half of 31 GPUs",
		p:        Protocol{Target: 0.5},
		capacity: 31 * MilliPerGPU,
		// 230+1000+1000+460+1000+1000+2000+0+8000 = 14,690 < 15,500; the tenth draw ends it.
		wantNames: []string{"openb-pod-7285-0", "openb-pod-0000-1", "openb-pod-0129-2", "openb-pod-0001-3", "openb-pod-0009-4",
			"openb-pod-0009-5", "openb-pod-0422-6", "openb-pod-0005-7", "openb-pod-0017-8", "openb-pod-0033-9"},
	}, {
		name:      "interval",
		p:         Protocol{Target: 0.1, Interval: 250 * time.Millisecond},
		capacity:  31 * MilliPerGPU,
		wantNames: []string{"openb-pod-7285-0", "openb-pod-0000-1", "openb-pod-0129-2", "openb-pod-0001-3", "openb-pod-0009-4"},
		wantAt:    []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second},
	}, {
		name: "no target", p: Protocol{}, capacity: 1000,
		err: "sampling target 0: want a positive share of capacity such as 1.3",
	}, {
		name: "no capacity", p: Protocol{Target: 1.3}, capacity: 0,
		err: "sampling to 1.3 of capacity 0: want a positive capacity",
	}, {
		name: "draw limit", p: Protocol{Target: 1.3, MaxDraws: 3}, capacity: 31 * MilliPerGPU,
		err: "sampling to 1.3 of capacity 31000: reached 3 draws with 2230 arrived; raise MaxDraws",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Sample(pool, tt.capacity, rand.New(rand.NewPCG(7, 7)))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := diffLines(tt.wantNames, names(got)); d != "" {
				t.Errorf("draws differ:\n%s", d)
			}
			var sum int64
			for i, a := range got {
				sum += GPUMilli(a.Pod)
				want := time.Duration(i) * time.Second
				if tt.wantAt != nil {
					want = tt.wantAt[i]
				}
				if a.At != want || a.Lifetime != 0 {
					t.Errorf("%s at %v life %v, want %v and no departure", a.Pod.Name, a.At, a.Lifetime, want)
				}
				if src := a.Pod.Annotations[AnnotationTraceID]; !strings.HasPrefix(a.Pod.Name, src+"-") {
					t.Errorf("%s: trace id %q", a.Pod.Name, src)
				}
			}
			goal := tt.p.Target * float64(tt.capacity)
			if last := GPUMilli(got[len(got)-1].Pod); float64(sum) < goal || float64(sum-last) >= goal {
				t.Errorf("sum %d (last %d), want the first draw to reach %.0f", sum, last, goal)
			}
		})
	}
	cpuOnly := []Arrival{pool[2]}
	if _, err := (Protocol{Target: 1}).Sample(cpuOnly, 1000, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "no pod of the pool requests any of the resource") {
		t.Errorf("CPU-only pool: %v", err)
	}
}

func TestScaleTime(t *testing.T) {
	in := []Arrival{
		{At: 10 * time.Second, Lifetime: 4 * time.Second, Pod: NewPod("a", PodOptions{}, nil)},
		{At: 3 * time.Second, Lifetime: 1, Pod: NewPod("b", PodOptions{}, nil)},
		{At: 7 * time.Second, Pod: NewPod("c", PodOptions{}, nil)},
	}
	tests := []struct {
		factor float64
		want   []string
		err    string
	}{
		{factor: 0.5, want: []string{"5s default/a life=2s req=", "1.5s default/b life=1ns req=", "3.5s default/c life=0s req="}},
		{factor: 60, want: []string{"600s default/a life=240s req=", "180s default/b life=60ns req=", "420s default/c life=0s req="}},
		{factor: 0, err: "time scale 0: want a positive finite factor"},
		{factor: -1, err: "time scale -1: want a positive finite factor"},
	}
	for _, tt := range tests {
		got, err := ScaleTime(in, tt.factor)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("factor %v: error %v, want %s", tt.factor, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := diffLines(tt.want, describeAll(got)); d != "" {
			t.Errorf("factor %v:\n%s", tt.factor, d)
		}
	}
	if in[0].At != 10*time.Second {
		t.Errorf("ScaleTime changed its input")
	}
}

func TestSample(t *testing.T) {
	var in []Arrival
	for i := range 10000 {
		in = append(in, Arrival{At: time.Duration(i), Pod: NewPod("p", PodOptions{}, nil)})
	}
	got, err := Sample(in, 0.3, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	// Binomial(10000, 0.3): mean 3000, standard deviation 45.8.
	if n := len(got); n < 3000-4*46 || n > 3000+4*46 {
		t.Errorf("kept %d of 10000 at 0.3", n)
	}
	again, _ := Sample(in, 0.3, rand.New(rand.NewPCG(3, 4)))
	if len(again) != len(got) || again[100].At != got[100].At {
		t.Errorf("the same seed sampled differently")
	}
	all, _ := Sample(in, 1, nil)
	if len(all) != len(in) {
		t.Errorf("fraction 1 kept %d", len(all))
	}
	for _, f := range []float64{0, -0.1, 1.5} {
		if _, err := Sample(in, f, nil); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
}

func TestInflate(t *testing.T) {
	pool := smallPool(t) // 13 pods
	got, err := Inflate(pool, 1.3, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	// ceil(13 × 1.3) = 17: four clones.
	if len(got) != 17 {
		t.Fatalf("%d arrivals, want 17", len(got))
	}
	var clones []string
	for i, a := range got {
		if i > 0 && got[i-1].At > a.At {
			t.Errorf("not sorted at %d", i)
		}
		if strings.Contains(a.Pod.Name, "-clone-") {
			clones = append(clones, describe(a))
		}
	}
	want := []string{
		"4975773s default/openb-pod-0009-clone-0 life=7927187s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=V100M16|V100M32,alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-id=openb-pod-0009,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
		"6588193s default/openb-pod-0012-clone-1 life=4371052s req=cpu=8,memory=32Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=T4,alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-id=openb-pod-0012,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
		"9671707s default/openb-pod-0021-clone-2 life=3231253s req=cpu=8,memory=30517Mi ann=alibabacloud.com/gpu-card-model=G2|P100|T4|V100M16|V100M32,alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=440,orrery.dev/trace-id=openb-pod-0021,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
		"9965463s default/openb-pod-0033-clone-3 life=182s req=cpu=3152m,memory=5600Mi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-id=openb-pod-0033,orrery.dev/trace-phase=Failed labels=orrery.dev/qos=BE",
	}
	if d := diffLines(want, clones); d != "" {
		t.Errorf("clones differ:\n%s", d)
	}
	if _, err := Inflate(pool, 0.9, nil); err == nil {
		t.Errorf("ratio 0.9 accepted")
	}
}

func TestTransformApply(t *testing.T) {
	pool := smallPool(t)
	tr := Transform{Sample: 0.5, Inflate: 2, TimeScale: 0.001}
	a, err := tr.Apply(pool, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.Apply(pool, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffLines(describeAll(a), describeAll(b)); d != "" {
		t.Errorf("not deterministic:\n%s", d)
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].At > a[i].At {
			t.Errorf("not sorted at %d", i)
		}
	}
	if last := a[len(a)-1].At; last > 12774042*time.Millisecond {
		t.Errorf("last arrival %v after the scaled end of the trace", last)
	}
	same, err := Transform{}.Apply(pool, nil)
	if err != nil || len(same) != len(pool) {
		t.Errorf("the zero transform changed the trace: %d, %v", len(same), err)
	}
}
