package noderesources

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"
)

// Weights a scoring resource may have (upstream's validation bounds).
const (
	minResourceWeight = 1
	maxResourceWeight = 100
)

// defaultResourceSpecs are upstream's defaults for both plugins' resources: cpu and memory,
// weight 1 each.
func defaultResourceSpecs() []configv1.ResourceSpec {
	return []configv1.ResourceSpec{{Name: string(corev1.ResourceCPU), Weight: 1}, {Name: string(corev1.ResourceMemory), Weight: 1}}
}

// defaultFitArgs applies upstream's SetDefaults_NodeResourcesFitArgs to a copy of args: a
// missing strategy is LeastAllocated, missing resources are cpu and memory, and a zero
// weight is 1. Already-defaulted args come back unchanged.
func defaultFitArgs(args *configv1.NodeResourcesFitArgs) *configv1.NodeResourcesFitArgs {
	out := &configv1.NodeResourcesFitArgs{}
	if args != nil {
		out = args.DeepCopy()
	}
	if out.ScoringStrategy == nil {
		out.ScoringStrategy = &configv1.ScoringStrategy{Type: configv1.LeastAllocated}
	}
	if out.ScoringStrategy.Type == "" {
		out.ScoringStrategy.Type = configv1.LeastAllocated
	}
	out.ScoringStrategy.Resources = defaultWeights(out.ScoringStrategy.Resources)
	return out
}

// defaultBalancedAllocationArgs applies upstream's defaults to a copy of args.
func defaultBalancedAllocationArgs(args *configv1.NodeResourcesBalancedAllocationArgs) *configv1.NodeResourcesBalancedAllocationArgs {
	out := &configv1.NodeResourcesBalancedAllocationArgs{}
	if args != nil {
		out = args.DeepCopy()
	}
	out.Resources = defaultWeights(out.Resources)
	return out
}

func defaultWeights(rs []configv1.ResourceSpec) []configv1.ResourceSpec {
	if len(rs) == 0 {
		return defaultResourceSpecs()
	}
	for i := range rs {
		if rs[i].Weight == 0 {
			rs[i].Weight = 1
		}
	}
	return rs
}

// validateResources checks names are unique and weights within [1, 100].
func validateResources(path string, rs []configv1.ResourceSpec) error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range rs {
		if r.Weight < minResourceWeight || r.Weight > maxResourceWeight {
			errs = append(errs, fmt.Errorf("%s[%d].weight: Invalid value: %d: resource weight of %s should be in range [%d, %d]", path, i, r.Weight, r.Name, minResourceWeight, maxResourceWeight))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("%s[%d].name: Duplicate value: %q", path, i, r.Name))
		}
		seen[r.Name] = true
	}
	return errors.Join(errs...)
}

// validateFitArgs is the part of upstream's ValidateNodeResourcesFitArgs that shapes
// scoring: a known strategy, resource weights, and for RequestedToCapacityRatio a shape
// with utilisation strictly increasing within [0, 100] and scores within [0, 10].
func validateFitArgs(args *configv1.NodeResourcesFitArgs) error {
	s := args.ScoringStrategy
	var errs []error
	switch s.Type {
	case configv1.LeastAllocated, configv1.MostAllocated:
	case configv1.RequestedToCapacityRatio:
		if s.RequestedToCapacityRatio == nil || len(s.RequestedToCapacityRatio.Shape) == 0 {
			errs = append(errs, errors.New("scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified"))
			break
		}
		for i, p := range s.RequestedToCapacityRatio.Shape {
			if p.Utilization < 0 || p.Utilization > maxUtilization {
				errs = append(errs, fmt.Errorf("scoringStrategy.requestedToCapacityRatio.shape[%d].utilization: Invalid value: %d: not in valid range [0, %d]", i, p.Utilization, maxUtilization))
			} else if i > 0 && p.Utilization <= s.RequestedToCapacityRatio.Shape[i-1].Utilization {
				errs = append(errs, fmt.Errorf("scoringStrategy.requestedToCapacityRatio.shape[%d].utilization: Invalid value: %d: utilization values must be sorted in increasing order", i, p.Utilization))
			}
			if p.Score < 0 || p.Score > maxCustomPriorityScore {
				errs = append(errs, fmt.Errorf("scoringStrategy.requestedToCapacityRatio.shape[%d].score: Invalid value: %d: not in valid range [0, %d]", i, p.Score, maxCustomPriorityScore))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("scoringStrategy.type: Unsupported value: %q: supported values: %q, %q, %q", s.Type, configv1.LeastAllocated, configv1.MostAllocated, configv1.RequestedToCapacityRatio))
	}
	if err := validateResources("scoringStrategy.resources", s.Resources); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
