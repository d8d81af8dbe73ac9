package podtopologyspread

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Defaulting types, as k8s.io/kube-scheduler/config/v1 spells them.
const (
	// SystemDefaulting applies the system default constraints to pods without their own.
	SystemDefaulting = "System"
	// ListDefaulting applies Args.DefaultConstraints to pods without their own.
	ListDefaulting = "List"
)

// Args are the plugin's arguments, with the fields and JSON names of
// k8s.io/kube-scheduler/config/v1 PodTopologySpreadArgs.
type Args struct {
	// DefaultConstraints apply to pods without constraints when DefaultingType is List.
	DefaultConstraints []corev1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType is System (the default) or List.
	DefaultingType string `json:"defaultingType,omitempty"`
}

// systemDefaultConstraints are upstream's system default constraints.
var systemDefaultConstraints = []corev1.TopologySpreadConstraint{
	{TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 5},
	{TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 3},
}

// Default fills DefaultingType as upstream's SetDefaults_PodTopologySpreadArgs.
func (a *Args) Default() {
	if a.DefaultingType == "" {
		a.DefaultingType = SystemDefaulting
	}
}

// Validate checks the args as upstream's ValidatePodTopologySpreadArgs does.
func (a *Args) Validate() error {
	switch a.DefaultingType {
	case SystemDefaulting:
		if len(a.DefaultConstraints) > 0 {
			return fmt.Errorf("defaultConstraints: Invalid value: when .defaultingType is %q, .defaultConstraints must be empty", SystemDefaulting)
		}
	case ListDefaulting:
	default:
		return fmt.Errorf("defaultingType: Unsupported value: %q: supported values: %q, %q", a.DefaultingType, SystemDefaulting, ListDefaulting)
	}
	type keyAction struct{ key, action string }
	seen := map[keyAction]bool{}
	for i, c := range a.DefaultConstraints {
		p := fmt.Sprintf("defaultConstraints[%d]", i)
		if c.MaxSkew <= 0 {
			return fmt.Errorf("%s.maxSkew: Invalid value: %d: must be greater than zero", p, c.MaxSkew)
		}
		if c.TopologyKey == "" {
			return fmt.Errorf("%s.topologyKey: Required value: can not be empty", p)
		}
		if c.WhenUnsatisfiable != corev1.DoNotSchedule && c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			return fmt.Errorf("%s.whenUnsatisfiable: Unsupported value: %q", p, c.WhenUnsatisfiable)
		}
		if c.LabelSelector != nil {
			return fmt.Errorf("%s.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod", p)
		}
		k := keyAction{c.TopologyKey, string(c.WhenUnsatisfiable)}
		if seen[k] {
			return fmt.Errorf("%s: Duplicate value: {%s, %s}", p, c.TopologyKey, c.WhenUnsatisfiable)
		}
		seen[k] = true
	}
	return nil
}

// decodeArgs reads *configv1.PodTopologySpreadArgs (or any object with its JSON fields)
// through the unstructured converter, so the package does not import
// k8s.io/kube-scheduler; nil gives the defaults.
func decodeArgs(obj runtime.Object) (Args, error) {
	var a Args
	if obj != nil {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return a, fmt.Errorf("%s args: %w", Name, err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &a); err != nil {
			return a, fmt.Errorf("%s args: %w", Name, err)
		}
	}
	a.Default()
	return a, a.Validate()
}
