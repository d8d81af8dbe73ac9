package schedconfig

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/extender"
)

// maxCustomPriorityScore is upstream's config.MaxCustomPriorityScore, the highest score of a
// RequestedToCapacityRatio shape point.
const maxCustomPriorityScore = 10

// validateWritten checks what the user wrote, before defaulting, so that paths and lines
// point at their own lists: plugin names known, weights not negative, percentages in range.
func validateWritten(cfg *configv1.KubeSchedulerConfiguration, known map[string]bool) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validatePercentage(field.NewPath("percentageOfNodesToScore"), cfg.PercentageOfNodesToScore)...)
	for i := range cfg.Profiles {
		prof := &cfg.Profiles[i]
		path := field.NewPath("profiles").Index(i)
		errs = append(errs, validatePercentage(path.Child("percentageOfNodesToScore"), prof.PercentageOfNodesToScore)...)
		if prof.Plugins == nil {
			continue
		}
		sets := []struct {
			name string
			set  *configv1.PluginSet
		}{{"multiPoint", &prof.Plugins.MultiPoint}}
		for _, pt := range points {
			sets = append(sets, struct {
				name string
				set  *configv1.PluginSet
			}{pt.name, pt.set(prof.Plugins)})
		}
		for _, s := range sets {
			for j, pl := range s.set.Enabled {
				p := path.Child("plugins", s.name, "enabled").Index(j)
				if !known[pl.Name] {
					errs = append(errs, field.Invalid(p.Child("name"), pl.Name, "unknown plugin"))
				}
				if pl.Weight != nil && *pl.Weight < 0 {
					errs = append(errs, field.Invalid(p.Child("weight"), *pl.Weight, "must be positive (0 or unset means 1)"))
				}
			}
		}
	}
	return errs
}

func validatePercentage(path *field.Path, v *int32) field.ErrorList {
	if v != nil && (*v < 0 || *v > 100) {
		return field.ErrorList{field.Invalid(path, *v, "not in valid range [0-100]")}
	}
	return nil
}

// validateDefaulted is upstream's ValidateKubeSchedulerConfiguration for the fields Orrery
// uses, on the defaulted configuration.
func validateDefaulted(cfg *configv1.KubeSchedulerConfiguration) field.ErrorList {
	var errs field.ErrorList
	if cfg.Parallelism != nil && *cfg.Parallelism <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("parallelism"), *cfg.Parallelism, "should be an integer value greater than zero"))
	}
	profiles := field.NewPath("profiles")
	seen := map[string]int{}
	for i := range cfg.Profiles {
		prof := &cfg.Profiles[i]
		path := profiles.Index(i)
		name := ""
		if prof.SchedulerName != nil {
			name = *prof.SchedulerName
		}
		if name == "" {
			errs = append(errs, field.Required(path.Child("schedulerName"), ""))
		} else if _, dup := seen[name]; dup {
			errs = append(errs, field.Duplicate(path.Child("schedulerName"), name))
		} else {
			seen[name] = i
		}
		errs = append(errs, validatePluginConfig(path, prof)...)
	}
	errs = append(errs, validateCommonQueueSort(profiles, cfg.Profiles)...)
	errs = append(errs, validateExtenders(cfg.Extenders)...)
	initial, max := *cfg.PodInitialBackoffSeconds, *cfg.PodMaxBackoffSeconds
	if initial <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("podInitialBackoffSeconds"), initial, "must be greater than 0"))
	}
	if max < initial {
		errs = append(errs, field.Invalid(field.NewPath("podMaxBackoffSeconds"), max, "must be greater than or equal to PodInitialBackoffSeconds"))
	}
	return errs
}

// validateExtenders checks each extender entry (and what Orrery cannot do with it) and
// that at most one binds, as upstream's validateExtenders.
func validateExtenders(list []configv1.Extender) field.ErrorList {
	var errs field.ErrorList
	binders := 0
	for i, e := range list {
		path := field.NewPath("extenders").Index(i)
		c, err := extender.FromV1(e)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			errs = append(errs, field.Invalid(path, e.URLPrefix, err.Error()))
		}
		if e.BindVerb != "" {
			binders++
		}
	}
	if binders > 1 {
		errs = append(errs, field.Invalid(field.NewPath("extenders"), fmt.Sprintf("found %d extenders implementing bind", binders), "only one extender can implement bind"))
	}
	return errs
}

// BuildExtenders returns the HTTP extenders of a validated configuration, in order.
func BuildExtenders(cfg *configv1.KubeSchedulerConfiguration) ([]*extender.Extender, error) {
	var out []*extender.Extender
	for i, e := range cfg.Extenders {
		c, err := extender.FromV1(e)
		if err != nil {
			return nil, fmt.Errorf("extenders[%d]: %w", i, err)
		}
		ex, err := extender.New(c)
		if err != nil {
			return nil, fmt.Errorf("extenders[%d]: %w", i, err)
		}
		out = append(out, ex)
	}
	return out, nil
}

// validatePluginConfig rejects repeated pluginConfig entries and validates each typed args.
func validatePluginConfig(path *field.Path, prof *configv1.KubeSchedulerProfile) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, pc := range prof.PluginConfig {
		p := path.Child("pluginConfig").Index(i)
		if seen[pc.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), pc.Name))
		}
		seen[pc.Name] = true
		errs = append(errs, validateArgs(p.Child("args"), pc.Args.Object)...)
	}
	return errs
}

// validateCommonQueueSort requires every profile to have the first profile's queueSort set,
// as upstream: the queue is shared.
func validateCommonQueueSort(path *field.Path, profiles []configv1.KubeSchedulerProfile) field.ErrorList {
	var errs field.ErrorList
	if len(profiles) == 0 {
		return nil
	}
	key := func(p *configv1.KubeSchedulerProfile) string {
		if p.Plugins == nil {
			return ""
		}
		var names []string
		for _, e := range p.Plugins.QueueSort.Enabled {
			names = append(names, e.Name)
		}
		names = append(names, "/")
		for _, d := range p.Plugins.QueueSort.Disabled {
			names = append(names, d.Name)
		}
		return strings.Join(names, ",")
	}
	canon := key(&profiles[0])
	for i := 1; i < len(profiles); i++ {
		if key(&profiles[i]) != canon {
			errs = append(errs, field.Invalid(path.Index(i).Child("plugins", "queueSort"), key(&profiles[i]), "must be the same for all profiles"))
		}
	}
	return errs
}

// validateArgs is upstream's validation of each plugin's args.
func validateArgs(path *field.Path, args any) field.ErrorList {
	switch a := args.(type) {
	case *configv1.NodeResourcesFitArgs:
		return validateFitArgs(path, a)
	case *configv1.NodeResourcesBalancedAllocationArgs:
		var errs field.ErrorList
		seen := map[string]bool{}
		for i, r := range a.Resources {
			p := path.Child("resources").Index(i)
			if seen[r.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), r.Name))
			}
			seen[r.Name] = true
			if r.Weight != 1 {
				errs = append(errs, field.Invalid(p.Child("weight"), r.Weight, "must be 1"))
			}
		}
		return errs
	case *configv1.InterPodAffinityArgs:
		if w := *a.HardPodAffinityWeight; w < 0 || w > 100 {
			return field.ErrorList{field.Invalid(path.Child("hardPodAffinityWeight"), w, "not in valid range [0, 100]")}
		}
	case *configv1.PodTopologySpreadArgs:
		return validateSpreadArgs(path, a)
	case *configv1.DefaultPreemptionArgs:
		var errs field.ErrorList
		pp, ap := path.Child("minCandidateNodesPercentage"), path.Child("minCandidateNodesAbsolute")
		pct, abs := *a.MinCandidateNodesPercentage, *a.MinCandidateNodesAbsolute
		if pct < 0 || pct > 100 {
			errs = append(errs, field.Invalid(pp, pct, "not in valid range [0, 100]"))
		}
		if abs < 0 {
			errs = append(errs, field.Invalid(ap, abs, "not in valid range [0, inf)"))
		}
		if pct == 0 && abs == 0 {
			errs = append(errs, field.Invalid(pp, pct, "cannot be zero at the same time as minCandidateNodesAbsolute"),
				field.Invalid(ap, abs, "cannot be zero at the same time as minCandidateNodesPercentage"))
		}
		return errs
	case *configv1.NodeAffinityArgs:
		return validateNodeAffinityArgs(path, a)
	}
	return nil
}

func validateFitArgs(path *field.Path, a *configv1.NodeResourcesFitArgs) field.ErrorList {
	var errs field.ErrorList
	for i, r := range a.IgnoredResources {
		errs = append(errs, metav1validation.ValidateLabelName(r, path.Child("ignoredResources").Index(i))...)
	}
	for i, g := range a.IgnoredResourceGroups {
		p := path.Child("ignoredResourceGroups").Index(i)
		if strings.Contains(g, "/") {
			errs = append(errs, field.Invalid(p, g, "resource group name can't contain '/'"))
		}
		errs = append(errs, metav1validation.ValidateLabelName(g, p)...)
	}
	sp := path.Child("scoringStrategy")
	s := a.ScoringStrategy
	switch s.Type {
	case configv1.LeastAllocated, configv1.MostAllocated, configv1.RequestedToCapacityRatio:
	default:
		errs = append(errs, field.NotSupported(sp.Child("type"), s.Type, []string{
			string(configv1.LeastAllocated), string(configv1.MostAllocated), string(configv1.RequestedToCapacityRatio)}))
	}
	for i, r := range s.Resources {
		if r.Weight <= 0 || r.Weight > 100 {
			errs = append(errs, field.Invalid(sp.Child("resources").Index(i).Child("weight"), r.Weight,
				fmt.Sprintf("resource weight of %v not in valid range (0, 100]", r.Name)))
		}
	}
	rp := sp.Child("requestedToCapacityRatio")
	switch {
	case s.Type == configv1.RequestedToCapacityRatio && s.RequestedToCapacityRatio == nil:
		errs = append(errs, field.Required(rp, "must be specified when type is RequestedToCapacityRatio"))
	case s.Type == configv1.RequestedToCapacityRatio:
		errs = append(errs, validateShape(rp.Child("shape"), s.RequestedToCapacityRatio.Shape)...)
	case s.RequestedToCapacityRatio != nil:
		errs = append(errs, field.Forbidden(rp, "must be nil when type is not RequestedToCapacityRatio"))
	}
	return errs
}

func validateShape(path *field.Path, shape []configv1.UtilizationShapePoint) field.ErrorList {
	if len(shape) == 0 {
		return field.ErrorList{field.Required(path, "at least one point must be specified")}
	}
	var errs field.ErrorList
	for i := 1; i < len(shape); i++ {
		if shape[i-1].Utilization >= shape[i].Utilization {
			errs = append(errs, field.Invalid(path.Index(i).Child("utilization"), shape[i].Utilization, "values must be sorted in increasing order"))
			break
		}
	}
	for i, pt := range shape {
		if pt.Utilization < 0 || pt.Utilization > 100 {
			errs = append(errs, field.Invalid(path.Index(i).Child("utilization"), pt.Utilization, "not in valid range [0, 100]"))
		}
		if pt.Score < 0 || pt.Score > maxCustomPriorityScore {
			errs = append(errs, field.Invalid(path.Index(i).Child("score"), pt.Score, fmt.Sprintf("not in valid range [0, %d]", maxCustomPriorityScore)))
		}
	}
	return errs
}

func validateSpreadArgs(path *field.Path, a *configv1.PodTopologySpreadArgs) field.ErrorList {
	var errs field.ErrorList
	tp := path.Child("defaultingType")
	switch {
	case a.DefaultingType != configv1.SystemDefaulting && a.DefaultingType != configv1.ListDefaulting:
		errs = append(errs, field.NotSupported(tp, a.DefaultingType, []string{string(configv1.SystemDefaulting), string(configv1.ListDefaulting)}))
	case a.DefaultingType == configv1.SystemDefaulting && len(a.DefaultConstraints) > 0:
		errs = append(errs, field.Invalid(tp, a.DefaultingType, "when .defaultConstraints are not empty"))
	}
	cp := path.Child("defaultConstraints")
	for i, c := range a.DefaultConstraints {
		p := cp.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "not in valid range (0, inf)"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, metav1validation.ValidateLabelName(c.TopologyKey, p.Child("topologyKey"))...)
		}
		switch c.WhenUnsatisfiable {
		case corev1.DoNotSchedule, corev1.ScheduleAnyway:
		case "":
			errs = append(errs, field.Required(p.Child("whenUnsatisfiable"), "can not be empty"))
		default:
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, []string{string(corev1.DoNotSchedule), string(corev1.ScheduleAnyway)}))
		}
		if c.LabelSelector != nil {
			errs = append(errs, field.Forbidden(p.Child("labelSelector"), "constraint must not define a selector, as they deduced for each pod"))
		}
		for j := range a.DefaultConstraints[:i] {
			o := a.DefaultConstraints[j]
			if o.TopologyKey == c.TopologyKey && o.WhenUnsatisfiable == c.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(p, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
	}
	return errs
}

func validateNodeAffinityArgs(path *field.Path, a *configv1.NodeAffinityArgs) field.ErrorList {
	if a.AddedAffinity == nil {
		return nil
	}
	var errs field.ErrorList
	collect := func(err error) {
		if err == nil {
			return
		}
		for _, e := range utilerrors.Flatten(utilerrors.NewAggregate([]error{err})).Errors() {
			var fe *field.Error
			if errors.As(e, &fe) {
				errs = append(errs, fe)
			} else {
				errs = append(errs, field.Invalid(path.Child("addedAffinity"), "", e.Error()))
			}
		}
	}
	ap := path.Child("addedAffinity")
	if ns := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; ns != nil {
		_, err := nodeaffinity.NewNodeSelector(ns, field.WithPath(ap.Child("requiredDuringSchedulingIgnoredDuringExecution")))
		collect(err)
	}
	if terms := a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(terms) > 0 {
		_, err := nodeaffinity.NewPreferredSchedulingTerms(terms, field.WithPath(ap.Child("preferredDuringSchedulingIgnoredDuringExecution")))
		collect(err)
	}
	return errs
}
