package schedconfig

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"
)

// Names of the plugins in Orrery's default set, as configuration files spell them.
const (
	SchedulingGates                 = "SchedulingGates"
	PrioritySort                    = "PrioritySort"
	NodeUnschedulable               = "NodeUnschedulable"
	NodeName                        = "NodeName"
	TaintToleration                 = "TaintToleration"
	NodeAffinity                    = "NodeAffinity"
	NodePorts                       = "NodePorts"
	NodeResourcesFit                = "NodeResourcesFit"
	PodTopologySpread               = "PodTopologySpread"
	InterPodAffinity                = "InterPodAffinity"
	DefaultPreemption               = "DefaultPreemption"
	NodeResourcesBalancedAllocation = "NodeResourcesBalancedAllocation"
	ImageLocality                   = "ImageLocality"
	DefaultBinder                   = "DefaultBinder"
)

// Upstream's defaults for the top-level fields Orrery uses.
const (
	DefaultParallelism              int32 = 16
	DefaultPodInitialBackoffSeconds int64 = 1
	DefaultPodMaxBackoffSeconds     int64 = 10
)

// DefaultPlugins returns the default plugin set of Kubernetes 1.34 as MultiPoint, in upstream's
// order and with its weights, less the volume and DynamicResources plugins.
func DefaultPlugins() *configv1.Plugins {
	w := func(n int32) *int32 { return &n }
	return &configv1.Plugins{MultiPoint: configv1.PluginSet{Enabled: []configv1.Plugin{
		{Name: SchedulingGates},
		{Name: PrioritySort},
		{Name: NodeUnschedulable},
		{Name: NodeName},
		{Name: TaintToleration, Weight: w(3)},
		{Name: NodeAffinity, Weight: w(2)},
		{Name: NodePorts},
		{Name: NodeResourcesFit, Weight: w(1)},
		{Name: PodTopologySpread, Weight: w(2)},
		{Name: InterPodAffinity, Weight: w(2)},
		{Name: DefaultPreemption},
		{Name: NodeResourcesBalancedAllocation, Weight: w(1)},
		{Name: ImageLocality, Weight: w(1)},
		{Name: DefaultBinder},
	}}}
}

// InTreePlugins returns the names of the default set, the plugins Parse and Load accept.
func InTreePlugins() []string {
	var names []string
	for _, p := range DefaultPlugins().MultiPoint.Enabled {
		names = append(names, p.Name)
	}
	return names
}

// argsTypes gives the typed args of the plugins that take them, by plugin name.
var argsTypes = map[string]func() runtime.Object{
	NodeResourcesFit:                func() runtime.Object { return &configv1.NodeResourcesFitArgs{} },
	NodeResourcesBalancedAllocation: func() runtime.Object { return &configv1.NodeResourcesBalancedAllocationArgs{} },
	NodeAffinity:                    func() runtime.Object { return &configv1.NodeAffinityArgs{} },
	InterPodAffinity:                func() runtime.Object { return &configv1.InterPodAffinityArgs{} },
	PodTopologySpread:               func() runtime.Object { return &configv1.PodTopologySpreadArgs{} },
	DefaultPreemption:               func() runtime.Object { return &configv1.DefaultPreemptionArgs{} },
}

// NewArgs returns the defaulted args of a plugin, nil if the plugin takes no typed args.
func NewArgs(plugin string) runtime.Object {
	newArgs, ok := argsTypes[plugin]
	if !ok {
		return nil
	}
	args := newArgs()
	SetArgsDefaults(args)
	args.GetObjectKind().SetGroupVersionKind(configv1.SchemeGroupVersion.WithKind(plugin + "Args"))
	return args
}

// defaultResourceSpec is upstream's cpu and memory, weight 1 each.
func defaultResourceSpec() []configv1.ResourceSpec {
	return []configv1.ResourceSpec{
		{Name: string(corev1.ResourceCPU), Weight: 1},
		{Name: string(corev1.ResourceMemory), Weight: 1},
	}
}

// SetArgsDefaults applies upstream's v1 defaulter of a typed args struct; other values are
// left alone.
func SetArgsDefaults(args runtime.Object) {
	switch a := args.(type) {
	case *configv1.NodeResourcesFitArgs:
		if a.ScoringStrategy == nil {
			a.ScoringStrategy = &configv1.ScoringStrategy{Type: configv1.LeastAllocated, Resources: defaultResourceSpec()}
		}
		if len(a.ScoringStrategy.Resources) == 0 {
			a.ScoringStrategy.Resources = defaultResourceSpec()
		}
		for i := range a.ScoringStrategy.Resources {
			if a.ScoringStrategy.Resources[i].Weight == 0 {
				a.ScoringStrategy.Resources[i].Weight = 1
			}
		}
	case *configv1.NodeResourcesBalancedAllocationArgs:
		if len(a.Resources) == 0 {
			a.Resources = defaultResourceSpec()
		}
		for i := range a.Resources {
			if a.Resources[i].Weight == 0 {
				a.Resources[i].Weight = 1
			}
		}
	case *configv1.InterPodAffinityArgs:
		if a.HardPodAffinityWeight == nil {
			a.HardPodAffinityWeight = ptr[int32](1)
		}
	case *configv1.PodTopologySpreadArgs:
		if a.DefaultingType == "" {
			a.DefaultingType = configv1.SystemDefaulting
		}
	case *configv1.DefaultPreemptionArgs:
		if a.MinCandidateNodesPercentage == nil {
			a.MinCandidateNodesPercentage = ptr[int32](10)
		}
		if a.MinCandidateNodesAbsolute == nil {
			a.MinCandidateNodesAbsolute = ptr[int32](100)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// SetDefaults applies upstream's SetDefaults_KubeSchedulerConfiguration to the fields Orrery
// uses: parallelism 16, one default-scheduler profile when none, each profile's plugins merged
// into the default set, every plugin's args defaulted (and added for enabled plugins that
// have none), and backoffs of 1 and 10 seconds. percentageOfNodesToScore stays nil.
func SetDefaults(cfg *configv1.KubeSchedulerConfiguration) {
	if cfg.Parallelism == nil {
		cfg.Parallelism = ptr(DefaultParallelism)
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = append(cfg.Profiles, configv1.KubeSchedulerProfile{})
	}
	// Only a single profile gets the default name; validation requires the others to have one.
	if len(cfg.Profiles) == 1 && cfg.Profiles[0].SchedulerName == nil {
		cfg.Profiles[0].SchedulerName = ptr(corev1.DefaultSchedulerName)
	}
	for i := range cfg.Profiles {
		setProfileDefaults(&cfg.Profiles[i])
	}
	if cfg.PodInitialBackoffSeconds == nil {
		cfg.PodInitialBackoffSeconds = ptr(DefaultPodInitialBackoffSeconds)
	}
	if cfg.PodMaxBackoffSeconds == nil {
		cfg.PodMaxBackoffSeconds = ptr(DefaultPodMaxBackoffSeconds)
	}
}

// setProfileDefaults is upstream's setDefaults_KubeSchedulerProfile.
func setProfileDefaults(prof *configv1.KubeSchedulerProfile) {
	prof.Plugins = MergePlugins(DefaultPlugins(), prof.Plugins)
	configured := map[string]bool{}
	for i := range prof.PluginConfig {
		configured[prof.PluginConfig[i].Name] = true
		if args := prof.PluginConfig[i].Args.Object; args != nil {
			SetArgsDefaults(args)
		}
	}
	for _, name := range enabledNames(prof.Plugins) {
		if configured[name] {
			continue
		}
		if args := NewArgs(name); args != nil {
			prof.PluginConfig = append(prof.PluginConfig, configv1.PluginConfig{Name: name, Args: runtime.RawExtension{Object: args}})
		}
	}
}

// enabledNames returns the names enabled at any extension point, sorted.
func enabledNames(p *configv1.Plugins) []string {
	seen := map[string]bool{}
	var names []string
	for _, pt := range points {
		for _, pl := range pt.set(p).Enabled {
			if !seen[pl.Name] {
				seen[pl.Name] = true
				names = append(names, pl.Name)
			}
		}
	}
	for _, pl := range p.MultiPoint.Enabled {
		if !seen[pl.Name] {
			seen[pl.Name] = true
			names = append(names, pl.Name)
		}
	}
	sort.Strings(names)
	return names
}

// MergePlugins merges a profile's plugins into the default set, extension point by extension
// point, as upstream's mergePlugins: custom is nil-safe and defaults is modified and returned.
func MergePlugins(defaults, custom *configv1.Plugins) *configv1.Plugins {
	if custom == nil {
		return defaults
	}
	defaults.MultiPoint = mergePluginSet(defaults.MultiPoint, custom.MultiPoint)
	for _, pt := range points {
		*pt.set(defaults) = mergePluginSet(*pt.set(defaults), *pt.set(custom))
	}
	return defaults
}

// mergePluginSet is upstream's mergePluginSet: the defaults not disabled (none if "*" is),
// each replaced in place by a custom entry of the same name, then the other custom entries
// in their order; the disabled lists of both are kept for MultiPoint expansion.
func mergePluginSet(defaults, custom configv1.PluginSet) configv1.PluginSet {
	disabled := map[string]bool{}
	var disabledList []configv1.Plugin
	for _, p := range custom.Disabled {
		disabledList = append(disabledList, configv1.Plugin{Name: p.Name})
		disabled[p.Name] = true
	}
	for _, p := range defaults.Disabled {
		disabledList = append(disabledList, configv1.Plugin{Name: p.Name})
		disabled[p.Name] = true
	}
	customIndex := map[string]int{}
	for i, p := range custom.Enabled {
		customIndex[p.Name] = i
	}
	replaced := map[int]bool{}
	var enabled []configv1.Plugin
	if !disabled["*"] {
		for _, p := range defaults.Enabled {
			if disabled[p.Name] {
				continue
			}
			if i, ok := customIndex[p.Name]; ok {
				p = custom.Enabled[i]
				replaced[i] = true
			}
			enabled = append(enabled, p)
		}
	}
	for i, p := range custom.Enabled {
		if !replaced[i] {
			enabled = append(enabled, p)
		}
	}
	return configv1.PluginSet{Enabled: enabled, Disabled: disabledList}
}
