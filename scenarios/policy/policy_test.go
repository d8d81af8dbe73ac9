package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	configv1 "k8s.io/kube-scheduler/config/v1"
)

func TestNames(t *testing.T) {
	want := []string{"best-fit", "default", "dot-product", "first-fit", "least-allocated", "most-allocated", "random", "requested-to-capacity-ratio", "worst-fit"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
}

// fitStrategy returns the NodeResourcesFit scoring strategy and weight of the first profile.
func fitStrategy(t *testing.T, cfg *configv1.KubeSchedulerConfiguration) (configv1.ScoringStrategyType, int32) {
	t.Helper()
	prof := cfg.Profiles[0]
	var weight int32
	for _, p := range prof.Plugins.MultiPoint.Enabled {
		if p.Name == "NodeResourcesFit" && p.Weight != nil {
			weight = *p.Weight
		}
	}
	for _, p := range prof.Plugins.Score.Enabled {
		if p.Name == "NodeResourcesFit" && p.Weight != nil {
			weight = *p.Weight
		}
	}
	for _, pc := range prof.PluginConfig {
		if pc.Name == "NodeResourcesFit" {
			return pc.Args.Object.(*configv1.NodeResourcesFitArgs).ScoringStrategy.Type, weight
		}
	}
	t.Fatal("no NodeResourcesFit args")
	return "", 0
}

// TestBuiltins: every built-in parses; default, most- and least-allocated carry the strategy
// and weight their names promise.
func TestBuiltins(t *testing.T) {
	for _, name := range Names() {
		p, err := Resolve(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Source != "builtin:"+name {
			t.Errorf("%s: source %q", name, p.Source)
		}
	}
	for name, want := range map[string]struct {
		strategy configv1.ScoringStrategyType
		weight   int32
	}{
		Default:                       {configv1.LeastAllocated, 1},
		"most-allocated":              {configv1.MostAllocated, 5},
		"least-allocated":             {configv1.LeastAllocated, 5},
		"requested-to-capacity-ratio": {configv1.RequestedToCapacityRatio, 5},
	} {
		p, _ := Resolve(name)
		cfg, err := p.Config()
		if err != nil {
			t.Fatal(err)
		}
		if s, w := fitStrategy(t, cfg); s != want.strategy || w != want.weight {
			t.Errorf("%s: NodeResourcesFit %s weight %d, want %s weight %d", name, s, w, want.strategy, want.weight)
		}
	}
}

func TestResolveFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.yaml")
	data, _ := builtin.ReadFile("builtin/most-allocated.yaml")
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Resolve(good)
	if err != nil || p.Source != good {
		t.Fatalf("file policy: %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins:\n    score:\n      enabled: [{name: NoSuchPlugin}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"most-alocated", `policy "most-alocated" is neither built in (best-fit, default`},
		{bad, "NoSuchPlugin"},
		{"../policy/builtin/default", "neither built in"},
	} {
		if _, err := Resolve(tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%q) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
