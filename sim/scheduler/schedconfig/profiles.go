package schedconfig

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// point is one extension point: its field in Plugins, the interface its plugins implement,
// and how a plugin is added to a Profile there.
type point struct {
	// name is the field name in configuration files, e.g. "filter".
	name string
	// iface is the interface's name, for errors.
	iface      string
	set        func(*configv1.Plugins) *configv1.PluginSet
	implements func(framework.Plugin) bool
	add        func(prof *framework.Profile, p framework.Plugin, weight int64)
}

func is[T framework.Plugin](p framework.Plugin) bool {
	_, ok := p.(T)
	return ok
}

// points are the extension points in upstream's getExtensionPoints order.
var points = []point{
	{"preFilter", "PreFilterPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PreFilter }, is[framework.PreFilterPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PreFilter = append(pr.PreFilter, p.(framework.PreFilterPlugin))
		}},
	{"filter", "FilterPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.Filter }, is[framework.FilterPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.Filter = append(pr.Filter, p.(framework.FilterPlugin))
		}},
	{"postFilter", "PostFilterPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PostFilter }, is[framework.PostFilterPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PostFilter = append(pr.PostFilter, p.(framework.PostFilterPlugin))
		}},
	{"reserve", "ReservePlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.Reserve }, is[framework.ReservePlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.Reserve = append(pr.Reserve, p.(framework.ReservePlugin))
		}},
	{"preScore", "PreScorePlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PreScore }, is[framework.PreScorePlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PreScore = append(pr.PreScore, p.(framework.PreScorePlugin))
		}},
	{"score", "ScorePlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.Score }, is[framework.ScorePlugin],
		func(pr *framework.Profile, p framework.Plugin, w int64) {
			pr.Score = append(pr.Score, framework.WeightedScore{Plugin: p.(framework.ScorePlugin), Weight: w})
		}},
	{"preBind", "PreBindPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PreBind }, is[framework.PreBindPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PreBind = append(pr.PreBind, p.(framework.PreBindPlugin))
		}},
	{"bind", "BindPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.Bind }, is[framework.BindPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.Bind = append(pr.Bind, p.(framework.BindPlugin))
		}},
	{"postBind", "PostBindPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PostBind }, is[framework.PostBindPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PostBind = append(pr.PostBind, p.(framework.PostBindPlugin))
		}},
	{"permit", "PermitPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.Permit }, is[framework.PermitPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.Permit = append(pr.Permit, p.(framework.PermitPlugin))
		}},
	{"preEnqueue", "PreEnqueuePlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.PreEnqueue }, is[framework.PreEnqueuePlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			pr.PreEnqueue = append(pr.PreEnqueue, p.(framework.PreEnqueuePlugin))
		}},
	{"queueSort", "QueueSortPlugin", func(p *configv1.Plugins) *configv1.PluginSet { return &p.QueueSort }, is[framework.QueueSortPlugin],
		func(pr *framework.Profile, p framework.Plugin, _ int64) {
			if pr.QueueSort == nil {
				pr.QueueSort = p.(framework.QueueSortPlugin)
			}
		}},
}

// BuildProfiles builds one framework.Profile per profile of a parsed (defaulted)
// configuration, as upstream's NewFramework: every plugin enabled anywhere in the profile is
// built once through reg with its args (its pluginConfig, else its defaults), then placed at
// each extension point it is enabled at, MultiPoint plugins at every point they implement
// unless disabled there, in upstream's order. Score weights come from the score point, else
// MultiPoint, 0 meaning 1.
func BuildProfiles(cfg *configv1.KubeSchedulerConfiguration, reg framework.Registry, h framework.Handle) ([]*framework.Profile, error) {
	var out []*framework.Profile
	for i := range cfg.Profiles {
		prof, err := buildProfile(cfg, &cfg.Profiles[i], reg, h)
		if err != nil {
			name := ""
			if cfg.Profiles[i].SchedulerName != nil {
				name = *cfg.Profiles[i].SchedulerName
			}
			return nil, fmt.Errorf("profile %q (profiles[%d]): %w", name, i, err)
		}
		out = append(out, prof)
	}
	return out, nil
}

func buildProfile(cfg *configv1.KubeSchedulerConfiguration, p *configv1.KubeSchedulerProfile, reg framework.Registry, h framework.Handle) (*framework.Profile, error) {
	prof := &framework.Profile{}
	if p.SchedulerName != nil {
		prof.SchedulerName = *p.SchedulerName
	}
	switch {
	case p.PercentageOfNodesToScore != nil:
		prof.PercentageOfNodesToScore = *p.PercentageOfNodesToScore
	case cfg.PercentageOfNodesToScore != nil:
		prof.PercentageOfNodesToScore = *cfg.PercentageOfNodesToScore
	}
	plugins := p.Plugins
	if plugins == nil {
		plugins = &configv1.Plugins{}
	}

	args := map[string]runtime.Object{}
	for _, pc := range p.PluginConfig {
		if _, dup := args[pc.Name]; dup {
			return nil, fmt.Errorf("repeated config for plugin %s", pc.Name)
		}
		args[pc.Name] = pc.Args.Object
	}
	built := map[string]framework.Plugin{}
	for _, name := range enabledNames(plugins) {
		factory, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q is not in the registry", name)
		}
		a, ok := args[name]
		if !ok {
			a = NewArgs(name)
		}
		pl, err := factory(a, h)
		if err != nil {
			return nil, fmt.Errorf("initializing plugin %q: %w", name, err)
		}
		built[name] = pl
	}

	weights := scoreWeights(plugins)
	for _, pt := range points {
		names, err := pointPlugins(pt, plugins, built)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			pt.add(prof, built[name], weights[name])
		}
		if pt.name == "queueSort" && len(names) != 1 {
			return nil, fmt.Errorf("only one queue sort plugin required for profile with scheduler name %q, but got %d", prof.SchedulerName, len(names))
		}
	}
	if len(prof.Bind) == 0 {
		return nil, fmt.Errorf("at least one bind plugin is needed for profile with scheduler name %q", prof.SchedulerName)
	}
	return prof, nil
}

// pointPlugins returns the plugins of one extension point in upstream's order: those enabled
// at the point that MultiPoint also names (in the point's order), then the other MultiPoint
// plugins implementing the point and not disabled there, then the rest of the point's own.
func pointPlugins(pt point, plugins *configv1.Plugins, built map[string]framework.Plugin) ([]string, error) {
	set := pt.set(plugins)
	explicit := map[string]bool{}
	var own []string
	for i, e := range set.Enabled {
		pl := built[e.Name]
		if !pt.implements(pl) {
			return nil, fmt.Errorf("plugins.%s.enabled[%d]: plugin %q does not extend %s", pt.name, i, e.Name, pt.iface)
		}
		if explicit[e.Name] {
			return nil, fmt.Errorf("plugins.%s.enabled[%d]: plugin %q already registered as %q", pt.name, i, e.Name, pt.iface)
		}
		explicit[e.Name] = true
		own = append(own, e.Name)
	}
	disabled := map[string]bool{}
	for _, d := range set.Disabled {
		disabled[d.Name] = true
	}
	if disabled["*"] {
		return own, nil
	}
	override := map[string]bool{}
	multi := map[string]bool{}
	var multiList []string
	for _, e := range plugins.MultiPoint.Enabled {
		if !pt.implements(built[e.Name]) || disabled[e.Name] {
			continue
		}
		if explicit[e.Name] {
			override[e.Name] = true
			continue
		}
		if multi[e.Name] {
			return nil, fmt.Errorf("plugins.multiPoint: plugin %q already registered as %q", e.Name, pt.iface)
		}
		multi[e.Name] = true
		multiList = append(multiList, e.Name)
	}
	var out []string
	for _, n := range own {
		if override[n] {
			out = append(out, n)
		}
	}
	out = append(out, multiList...)
	for _, n := range own {
		if !override[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// scoreWeights returns each plugin's score weight: from the score point's entry if any, else
// from MultiPoint's; an unset or zero weight is 1, as upstream's getScoreWeights.
func scoreWeights(plugins *configv1.Plugins) map[string]int64 {
	w := map[string]int64{}
	for _, e := range append(append([]configv1.Plugin(nil), plugins.Score.Enabled...), plugins.MultiPoint.Enabled...) {
		if _, ok := w[e.Name]; ok {
			continue
		}
		w[e.Name] = 1
		if e.Weight != nil && *e.Weight != 0 {
			w[e.Name] = int64(*e.Weight)
		}
	}
	return w
}
