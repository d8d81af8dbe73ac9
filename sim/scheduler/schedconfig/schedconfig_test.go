package schedconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Fake plugins, one type per combination of extension points the default plugins have.
type fake struct {
	name string
	args runtime.Object
}

func (f *fake) Name() string { return f.name }

type queueSortPl struct{ fake }

func (*queueSortPl) Less(a, b *framework.QueuedPodInfo) bool { return false }

type preEnqueuePl struct{ fake }

func (*preEnqueuePl) PreEnqueue(*corev1.Pod) *framework.Status { return nil }

type filterPl struct{ fake }

func (*filterPl) PreFilter(*framework.CycleState, *corev1.Pod) *framework.Status { return nil }
func (*filterPl) Filter(*framework.CycleState, *corev1.Pod, *framework.NodeInfo) *framework.Status {
	return nil
}

type scorePl struct{ fake }

func (*scorePl) PreScore(*framework.CycleState, *corev1.Pod, []*framework.NodeInfo) *framework.Status {
	return nil
}
func (*scorePl) Score(*framework.CycleState, *corev1.Pod, *framework.NodeInfo) (int64, *framework.Status) {
	return 0, nil
}

type filterScorePl struct{ filterPl }

func (*filterScorePl) PreScore(*framework.CycleState, *corev1.Pod, []*framework.NodeInfo) *framework.Status {
	return nil
}
func (*filterScorePl) Score(*framework.CycleState, *corev1.Pod, *framework.NodeInfo) (int64, *framework.Status) {
	return 0, nil
}

type postFilterPl struct{ fake }

func (*postFilterPl) PostFilter(*framework.CycleState, *corev1.Pod, framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	return nil, nil
}

type bindPl struct{ fake }

func (*bindPl) Bind(*framework.CycleState, *corev1.Pod, string) *framework.Status { return nil }

func fakeRegistry() framework.Registry {
	mk := func(name string, build func(fake) framework.Plugin) framework.Factory {
		return func(args runtime.Object, _ framework.Handle) (framework.Plugin, error) {
			return build(fake{name: name, args: args}), nil
		}
	}
	reg := framework.Registry{}
	add := func(build func(fake) framework.Plugin, names ...string) {
		for _, n := range names {
			reg[n] = mk(n, build)
		}
	}
	add(func(f fake) framework.Plugin { return &queueSortPl{f} }, PrioritySort)
	add(func(f fake) framework.Plugin { return &preEnqueuePl{f} }, SchedulingGates)
	add(func(f fake) framework.Plugin { return &filterPl{f} }, NodeUnschedulable, NodeName, NodePorts)
	add(func(f fake) framework.Plugin { return &filterScorePl{filterPl{f}} },
		TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, InterPodAffinity)
	add(func(f fake) framework.Plugin { return &postFilterPl{f} }, DefaultPreemption)
	add(func(f fake) framework.Plugin { return &scorePl{f} }, NodeResourcesBalancedAllocation, ImageLocality, "Foo")
	add(func(f fake) framework.Plugin { return &bindPl{f} }, DefaultBinder)
	return reg
}

func names[T framework.Plugin](ps []T) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func scores(ws []framework.WeightedScore) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Plugin.Name()+"="+string(rune('0'+w.Weight)))
	}
	return out
}

func argsOf(t *testing.T, prof *framework.Profile, name string) runtime.Object {
	t.Helper()
	for _, f := range prof.Filter {
		if f.Name() == name {
			return f.(*filterScorePl).args
		}
	}
	for _, p := range prof.PostFilter {
		if p.Name() == name {
			return p.(*postFilterPl).args
		}
	}
	for _, s := range prof.Score {
		if s.Plugin.Name() == name {
			if p, ok := s.Plugin.(*scorePl); ok {
				return p.args
			}
			return s.Plugin.(*filterScorePl).args
		}
	}
	t.Fatalf("plugin %s not in the profile", name)
	return nil
}

func mustBuild(t *testing.T, path string) (*configv1.KubeSchedulerConfiguration, []*framework.Profile) {
	t.Helper()
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	profs, err := BuildProfiles(cfg, fakeRegistry(), nil)
	if err != nil {
		t.Fatalf("BuildProfiles(%s): %v", path, err)
	}
	return cfg, profs
}

func TestDefaultConfig(t *testing.T) {
	cfg, profs := mustBuild(t, "testdata/default.yaml")
	if *cfg.Parallelism != 16 || *cfg.PodInitialBackoffSeconds != 1 || *cfg.PodMaxBackoffSeconds != 10 || cfg.PercentageOfNodesToScore != nil {
		t.Errorf("top-level defaults: parallelism %v, backoff %v/%v, percentage %v", *cfg.Parallelism,
			*cfg.PodInitialBackoffSeconds, *cfg.PodMaxBackoffSeconds, cfg.PercentageOfNodesToScore)
	}
	if len(profs) != 1 {
		t.Fatalf("got %d profiles", len(profs))
	}
	p := profs[0]
	if p.SchedulerName != "default-scheduler" || p.QueueSort.Name() != PrioritySort || p.PercentageOfNodesToScore != 0 {
		t.Errorf("profile %q, queue sort %s, percentage %d", p.SchedulerName, p.QueueSort.Name(), p.PercentageOfNodesToScore)
	}
	check := func(point string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", point, got, want)
		}
	}
	check("preEnqueue", names(p.PreEnqueue), []string{SchedulingGates})
	check("filter", names(p.Filter), []string{NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity})
	check("postFilter", names(p.PostFilter), []string{DefaultPreemption})
	check("score", scores(p.Score), []string{"TaintToleration=3", "NodeAffinity=2", "NodeResourcesFit=1", "PodTopologySpread=2", "InterPodAffinity=2", "NodeResourcesBalancedAllocation=1", "ImageLocality=1"})
	check("bind", names(p.Bind), []string{DefaultBinder})

	fit := argsOf(t, p, NodeResourcesFit).(*configv1.NodeResourcesFitArgs)
	want := &configv1.ScoringStrategy{Type: configv1.LeastAllocated, Resources: []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}
	if !reflect.DeepEqual(fit.ScoringStrategy, want) {
		t.Errorf("fit args = %+v", fit.ScoringStrategy)
	}
	if a := argsOf(t, p, NodeResourcesBalancedAllocation).(*configv1.NodeResourcesBalancedAllocationArgs); len(a.Resources) != 2 || a.Resources[0].Name != "cpu" {
		t.Errorf("balanced args = %+v", a)
	}
	if a := argsOf(t, p, InterPodAffinity).(*configv1.InterPodAffinityArgs); *a.HardPodAffinityWeight != 1 {
		t.Errorf("interpod args = %+v", a)
	}
	if a := argsOf(t, p, PodTopologySpread).(*configv1.PodTopologySpreadArgs); a.DefaultingType != configv1.SystemDefaulting {
		t.Errorf("spread args = %+v", a)
	}
	if a := argsOf(t, p, DefaultPreemption).(*configv1.DefaultPreemptionArgs); *a.MinCandidateNodesPercentage != 10 || *a.MinCandidateNodesAbsolute != 100 {
		t.Errorf("preemption args = %+v", a)
	}
	if a := argsOf(t, p, NodeAffinity).(*configv1.NodeAffinityArgs); a.AddedAffinity != nil {
		t.Errorf("node affinity args = %+v", a)
	}
	if a := argsOf(t, p, ImageLocality); a != nil {
		t.Errorf("ImageLocality got args %v, want nil", a)
	}
}

func TestMostAllocated(t *testing.T) {
	cfg, profs := mustBuild(t, "testdata/mostallocated.yaml")
	fit := argsOf(t, profs[0], NodeResourcesFit).(*configv1.NodeResourcesFitArgs)
	want := &configv1.ScoringStrategy{Type: configv1.MostAllocated, Resources: []configv1.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}
	if !reflect.DeepEqual(fit.ScoringStrategy, want) {
		t.Errorf("fit args = %+v", fit.ScoringStrategy)
	}
	if pc := cfg.Profiles[0].PluginConfig[0]; pc.Name != NodeResourcesFit || pc.Args.Object != fit {
		t.Errorf("pluginConfig[0] = %+v", pc)
	}
	if got := len(cfg.Profiles[0].PluginConfig); got != 6 {
		t.Errorf("%d pluginConfig entries, want the written one and 5 defaulted", got)
	}
}

func TestTwoProfiles(t *testing.T) {
	_, profs := mustBuild(t, "testdata/two-profiles.yaml")
	if len(profs) != 2 || profs[0].SchedulerName != "default-scheduler" || profs[1].SchedulerName != "bin-packing" {
		t.Fatalf("profiles %v", profs)
	}
	if profs[0].PercentageOfNodesToScore != 50 || profs[1].PercentageOfNodesToScore != 100 {
		t.Errorf("percentages %d, %d", profs[0].PercentageOfNodesToScore, profs[1].PercentageOfNodesToScore)
	}
	// NodeResourcesFit is enabled explicitly at score, so it comes first with its own weight;
	// the disabled ones are gone; the other MultiPoint score plugins follow in their order.
	if got, want := scores(profs[1].Score), []string{"NodeResourcesFit=5", "TaintToleration=3", "NodeAffinity=2", "PodTopologySpread=2", "InterPodAffinity=2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("score = %v, want %v", got, want)
	}
	if len(profs[1].PreEnqueue) != 0 || len(profs[0].PreEnqueue) != 1 {
		t.Errorf("preEnqueue = %v / %v", names(profs[0].PreEnqueue), names(profs[1].PreEnqueue))
	}
	fit := argsOf(t, profs[1], NodeResourcesFit).(*configv1.NodeResourcesFitArgs)
	if fit.ScoringStrategy.Type != configv1.RequestedToCapacityRatio || fit.ScoringStrategy.Resources[1].Weight != 1 ||
		len(fit.ScoringStrategy.RequestedToCapacityRatio.Shape) != 2 {
		t.Errorf("fit args = %+v", fit.ScoringStrategy)
	}
	pre := argsOf(t, profs[1], DefaultPreemption).(*configv1.DefaultPreemptionArgs)
	if *pre.MinCandidateNodesAbsolute != 10 || *pre.MinCandidateNodesPercentage != 10 {
		t.Errorf("preemption args = %+v", pre)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file   string
		line   int
		field  string
		detail string
	}{
		{"bad-unknown-field.yaml", 5, "profiles[0].plugin", `unknown field "profiles[0].plugin"`},
		{"bad-args-field.yaml", 9, "profiles[0].pluginConfig[0].args.scoringStrategy.resource", `unknown field "profiles[0].pluginConfig[0].args.scoringStrategy.resource"`},
		{"bad-args-value.yaml", 8, "profiles[0].pluginConfig[0].args.scoringStrategy.type", `Unsupported value: "Fullest": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`},
		{"bad-unknown-plugin.yaml", 7, "profiles[0].plugins.score.enabled[0].name", `Invalid value: "Foo": unknown plugin`},
		{"bad-pluginconfig-name.yaml", 8, "profiles[0].pluginConfig[1].name", `Invalid value: "VolumeBinding": unknown plugin`},
		{"bad-weight.yaml", 8, "profiles[0].plugins.multiPoint.enabled[0].weight", "Invalid value: -1: must be positive (0 or unset means 1)"},
		{"bad-duplicate-name.yaml", 5, "profiles[1].schedulerName", `Duplicate value: "default-scheduler"`},
		{"bad-apiversion.yaml", 1, "apiVersion", `Unsupported value: "kubescheduler.config.k8s.io/v1beta3": supported values: "kubescheduler.config.k8s.io/v1"`},
		{"bad-percentage.yaml", 3, "percentageOfNodesToScore", "Invalid value: 120: not in valid range [0-100]"},
		{"bad-extender-weight.yaml", 4, "extenders[0]", `Invalid value: "http://127.0.0.1:8888/scheduler": weight: Invalid value: 0: must have a positive weight applied to it`},
		{"bad-extender-binders.yaml", 3, "extenders", `Invalid value: "found 2 extenders implementing bind": only one extender can implement bind`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load("testdata/" + tt.file)
			var list model.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("err = %v, want a model.ErrorList", err)
			}
			e := list[0]
			if e.File != "testdata/"+tt.file || e.Line != tt.line || e.Field != tt.field || e.Detail != tt.detail {
				t.Errorf("got  line %d %s: %s\nwant line %d %s: %s", e.Line, e.Field, e.Detail, tt.line, tt.field, tt.detail)
			}
			if len(list) != 1 {
				t.Errorf("want one problem, got %v", err)
			}
		})
	}
}

func TestParseForRegistry(t *testing.T) {
	data := []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      disabled:
      - name: "*"
      enabled:
      - name: Foo
        weight: 4
`)
	reg := fakeRegistry()
	cfg, err := ParseFor("c.yaml", data, PluginNames(reg))
	if err != nil {
		t.Fatal(err)
	}
	profs, err := BuildProfiles(cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := scores(profs[0].Score); !reflect.DeepEqual(got, []string{"Foo=4"}) {
		t.Errorf("score = %v", got)
	}
	if len(profs[0].Filter) != 8 {
		t.Errorf("filter = %v, want the 8 defaults untouched", names(profs[0].Filter))
	}
}

func TestBuildProfilesErrors(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		reg    func(framework.Registry)
		substr string
	}{
		{"not in registry", "", func(r framework.Registry) { delete(r, ImageLocality) },
			`profile "default-scheduler" (profiles[0]): plugin "ImageLocality" is not in the registry`},
		{"does not extend", "profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: ImageLocality\n", nil,
			`plugins.filter.enabled[0]: plugin "ImageLocality" does not extend FilterPlugin`},
		{"no bind", "profiles:\n- plugins:\n    bind:\n      disabled:\n      - name: '*'\n", nil,
			"at least one bind plugin is needed"},
		{"two queue sorts", "profiles:\n- plugins:\n    queueSort:\n      enabled:\n      - name: Foo\n", func(r framework.Registry) {
			r["Foo"] = func(_ runtime.Object, _ framework.Handle) (framework.Plugin, error) {
				return &queueSortPl{fake{name: "Foo"}}, nil
			}
		}, "only one queue sort plugin required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := fakeRegistry()
			if tt.reg != nil {
				tt.reg(reg)
			}
			data := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" + tt.yaml
			cfg, err := ParseFor("c.yaml", []byte(data), append(InTreePlugins(), "Foo"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = BuildProfiles(cfg, reg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("err = %v, want %q", err, tt.substr)
			}
		})
	}
}

// TestMergePluginSet follows upstream's mergePluginSet cases: a re-configured default keeps
// its place, "*" drops every default, and new plugins are appended.
func TestMergePluginSet(t *testing.T) {
	w := func(n int32) *int32 { return &n }
	defaults := configv1.PluginSet{Enabled: []configv1.Plugin{{Name: "A", Weight: w(1)}, {Name: "B"}, {Name: "C"}}}
	tests := []struct {
		name   string
		custom configv1.PluginSet
		want   []string
	}{
		{"override keeps order", configv1.PluginSet{Enabled: []configv1.Plugin{{Name: "D"}, {Name: "B", Weight: w(7)}}}, []string{"A", "B7", "C", "D"}},
		{"disable one", configv1.PluginSet{Disabled: []configv1.Plugin{{Name: "A"}}}, []string{"B", "C"}},
		{"disable all", configv1.PluginSet{Disabled: []configv1.Plugin{{Name: "*"}}, Enabled: []configv1.Plugin{{Name: "C"}}}, []string{"C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergePluginSet(defaults, tt.custom)
			var gotNames []string
			for _, p := range got.Enabled {
				n := p.Name
				if p.Weight != nil && *p.Weight != 1 {
					n += string(rune('0' + *p.Weight))
				}
				gotNames = append(gotNames, n)
			}
			if !reflect.DeepEqual(gotNames, tt.want) {
				t.Errorf("enabled = %v, want %v", gotNames, tt.want)
			}
		})
	}
}

func TestPluginArgs(t *testing.T) {
	head := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- pluginConfig:\n"
	t.Run("untyped args are kept as JSON", func(t *testing.T) {
		cfg, err := ParseFor("c.yaml", []byte(head+"  - name: Foo\n    args:\n      depth: 3\n"), append(InTreePlugins(), "Foo"))
		if err != nil {
			t.Fatal(err)
		}
		u, ok := cfg.Profiles[0].PluginConfig[0].Args.Object.(*runtime.Unknown)
		if !ok || string(u.Raw) != `{"depth":3}` {
			t.Errorf("args = %#v", cfg.Profiles[0].PluginConfig[0].Args.Object)
		}
	})
	t.Run("args of another kind", func(t *testing.T) {
		_, err := Parse("c.yaml", []byte(head+"  - name: InterPodAffinity\n    args:\n      kind: NodeAffinityArgs\n"))
		var list model.ErrorList
		if !errors.As(err, &list) || list[0].Line != 7 || list[0].Field != "profiles[0].pluginConfig[0].args.kind" ||
			list[0].Detail != `Unsupported value: "NodeAffinityArgs": supported values: "InterPodAffinityArgs"` {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("args wrong type", func(t *testing.T) {
		_, err := Parse("c.yaml", []byte(head+"  - name: InterPodAffinity\n    args:\n      hardPodAffinityWeight: heavy\n"))
		var list model.ErrorList
		if !errors.As(err, &list) || list[0].Line != 7 || list[0].Field != "profiles[0].pluginConfig[0].args.hardPodAffinityWeight" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("args out of range", func(t *testing.T) {
		_, err := Parse("c.yaml", []byte(head+"  - name: InterPodAffinity\n    args:\n      hardPodAffinityWeight: 101\n"))
		if err == nil || err.Error() != "c.yaml: line 7: profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]" {
			t.Errorf("err = %v", err)
		}
	})
}
