package synth

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistFirstDraws(t *testing.T) {
	// PCG(1, 2)'s first Float64s are 0.6765, 0.4614, 0.5085 and its first ExpFloat64 is
	// 0.5931; every distribution below is pinned on them.
	tests := []struct {
		name string
		d    Dist
		want [3]float64
	}{
		{"fixed", Fixed{3}, [3]float64{3, 3, 3}},
		{"uniform", Uniform{1, 5}, [3]float64{3.7058226386713002, 2.8455448708823976, 3.0341895907041057}},
		{"exponential", Exponential{10}, [3]float64{5.931317151369719, 0.680034588807843, 0.36496967459790364}},
		{"log-normal", LogNormal{1, 0.5}, [3]float64{3.2861699877392927, 2.8217831936876947, 3.0042687862160564}},
		{"empirical weighted", Empirical{Values: []float64{1, 2, 4}, Weights: []float64{1, 2, 1}}, [3]float64{2, 2, 2}},
		{"empirical uniform", Empirical{Values: []float64{7, 8}}, [3]float64{8, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.d.Validate(); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for i, w := range tt.want {
				if got := tt.d.Sample(r); got != w {
					t.Errorf("draw %d = %v, want %v", i, got, w)
				}
			}
		})
	}
}

// TestDistMeans checks the sample mean of 10,000 draws against the distribution's mean,
// within 4 standard errors.
func TestDistMeans(t *testing.T) {
	ln := LogNormalMeanStd(2048, 1024)
	tests := []struct {
		name      string
		d         Dist
		mean, std float64
	}{
		{"uniform", Uniform{2, 10}, 6, 8 / math.Sqrt(12)},
		{"exponential", Exponential{300}, 300, 300},
		{"log-normal", LogNormal{Mu: 1, Sigma: 0.5}, math.Exp(1 + 0.125), math.Sqrt((math.Exp(0.25) - 1) * math.Exp(2+0.25))},
		{"log-normal from mean and std", ln, 2048, 1024},
		{"empirical", Empirical{Values: []float64{1, 2, 4}, Weights: []float64{1, 2, 1}}, 2.25, math.Sqrt((1+2*4+16)/4.0 - 2.25*2.25)},
	}
	const n = 10000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, 43))
			sum := 0.0
			for range n {
				sum += tt.d.Sample(r)
			}
			mean := sum / n
			if se := tt.std / math.Sqrt(n); math.Abs(mean-tt.mean) > 4*se {
				t.Errorf("mean of %d draws %v, want %v ± %v", n, mean, tt.mean, 4*se)
			}
		})
	}
	if math.Abs(ln.Mu-(math.Log(2048)-math.Log(1.25)/2)) > 1e-12 || math.Abs(ln.Sigma-math.Sqrt(math.Log(1.25))) > 1e-12 {
		t.Errorf("LogNormalMeanStd(2048, 1024) = %+v", ln)
	}
}

func TestEmpiricalFrequencies(t *testing.T) {
	d := Empirical{Values: []float64{10, 20, 30}, Weights: []float64{0.7, 0, 0.3}}
	r := rand.New(rand.NewPCG(5, 5))
	counts := map[float64]int{}
	for range 10000 {
		counts[d.Sample(r)]++
	}
	// Binomial(10000, 0.7): standard deviation 45.8.
	if counts[20] != 0 || math.Abs(float64(counts[10])-7000) > 4*45.8 || counts[10]+counts[30] != 10000 {
		t.Errorf("counts %v, want about 7000 tens, 3000 thirties and no twenty", counts)
	}
}

func TestDistValidate(t *testing.T) {
	tests := []struct {
		d    Dist
		want string
	}{
		{Uniform{5, 1}, "uniform from 5 to 1: want min ≤ max"},
		{Exponential{0}, "exponential mean 0: want a positive finite number"},
		{LogNormal{0, -1}, "log-normal sigma -1: want 0 or more"},
		{Empirical{}, "empirical distribution: want at least one value"},
		{Empirical{Values: []float64{1}, Weights: []float64{1, 2}}, "empirical distribution: 2 weights for 1 values"},
		{Empirical{Values: []float64{1, 2}, Weights: []float64{0, 0}}, "empirical distribution: the weights add up to 0"},
		{Empirical{Values: []float64{1, 2}, Weights: []float64{1, -1}}, "empirical distribution: weight 1 is -1: want a finite weight of 0 or more"},
		{Fixed{math.NaN()}, "fixed value NaN: want a finite number"},
	}
	for _, tt := range tests {
		if err := tt.d.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("%#v: %v, want %s", tt.d, err, tt.want)
		}
	}
}
