package ctrdruntime

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/kubelet"
)

func profile(t *testing.T, s string) model.ContainerProfile {
	t.Helper()
	p, err := model.ParseUsageProfile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p.For("app")
}

func TestCurvesMatchTheModel(t *testing.T) {
	for _, usage := range []string{
		"memory: 64Mi",
		"memory: {ramp: {from: 10Mi, to: 100Mi, over: 10s}}",
		"memory: {spikes: {base: 10Mi, peak: 50Mi, every: 10s, for: 2s}}",
		"memory: {steps: [{at: 1s, value: 10Mi}, {at: 5s, value: 30Mi}]}",
		"memory: {randomWalk: {start: 50Mi, step: 5Mi, every: 1s, min: 10Mi, max: 100Mi}}",
	} {
		p := profile(t, usage)
		seed := rand.New(rand.NewPCG(7, 8))
		spec := WorkloadSpec(kubelet.ContainerConfig{Profile: p, Rand: seed}, "")
		// The simulated runtime's memory series, from the same draws.
		sim := rand.New(rand.NewPCG(7, 8))
		_, _ = sim.Uint64(), sim.Uint64()
		series := model.NewSeries(p.Memory, rand.New(rand.NewPCG(sim.Uint64(), sim.Uint64())))
		for at := time.Duration(0); at <= 30*time.Second; at += 250 * time.Millisecond {
			want, got := series.At(at), spec.Memory.At(at)
			if d := got - want; d < -1 || d > 1 {
				t.Errorf("%s: at %v the workload holds %d, the model says %d", usage, at, got, want)
				break
			}
		}
	}
}

func TestExitMatchesTheSimulatedDraws(t *testing.T) {
	p := profile(t, "crashProbabilityPerHour: 0.9\ncrashExitCode: 3\nrunFor: 100h\ndisk: 1Gi")
	spec := WorkloadSpec(kubelet.ContainerConfig{Profile: p, Rand: rand.New(rand.NewPCG(1, 2))}, "")
	// As the simulated runtime draws: CPU, memory and disk streams, then the crash.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 6 {
		rng.Uint64()
	}
	crash, ok := p.CrashAfterDraw(rng)
	if !ok || crash >= 100*time.Hour {
		t.Fatalf("crash draw %v, %v: want one before runFor", crash, ok)
	}
	if spec.ExitAfter != crash || spec.ExitCode != 3 {
		t.Fatalf("exit after %v with %d, want %v with 3", spec.ExitAfter, spec.ExitCode, crash)
	}
	if spec.SIGTERMAfter != kubelet.DefaultSIGTERMExitLatency {
		t.Errorf("SIGTERM latency %v, want the simulated default", spec.SIGTERMAfter)
	}
	ign := WorkloadSpec(kubelet.ContainerConfig{Profile: profile(t, "sigterm: ignore\nrunFor: 0s\nexitCode: 4")}, "")
	if !ign.IgnoreSIGTERM || ign.ExitAfter <= 0 || ign.ExitCode != 4 {
		t.Errorf("spec %+v, want SIGTERM ignored and an immediate exit with 4", ign)
	}
}

func TestLimitsOf(t *testing.T) {
	q := resource.MustParse
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: q("250m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("64Mi")},
	}}
	if got, want := LimitsOf(c), (Limits{MemoryBytes: 64 << 20, QuotaMicros: 50000, Shares: 256}); got != want {
		t.Errorf("LimitsOf = %+v, want %+v", got, want)
	}
	if got, want := LimitsOf(&corev1.Container{}), (Limits{Shares: 2}); got != want {
		t.Errorf("LimitsOf(no resources) = %+v, want %+v", got, want)
	}
}

func TestIdentifier(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"orrery-ab12", "node-1"}, "orrery-ab12-node-1"},
		{[]string{"web--x.y_", "app"}, "web-x-y-app"},
		{[]string{"", "..."}, "x"},
		{[]string{strings.Repeat("a", 100)}, strings.Repeat("a", 76)},
	} {
		if got := Identifier(tc.parts...); got != tc.want {
			t.Errorf("Identifier(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
	cfg := kubelet.ContainerConfig{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("p", 60)}}, Container: &corev1.Container{Name: strings.Repeat("c", 60)}, Attempt: 12}
	if id := containerID(cfg, 345); len(id) > 76 || !strings.HasSuffix(id, "-12-345") {
		t.Errorf("containerID = %q, want at most 76 characters ending in the attempt and sequence", id)
	}
}
