package interpodaffinity

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// Args are the plugin's arguments, with the fields and JSON names of
// k8s.io/kube-scheduler/config/v1 InterPodAffinityArgs.
type Args struct {
	// HardPodAffinityWeight is the score weight of an existing pod's required affinity
	// term that the incoming pod matches (0–100).
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
	// IgnorePreferredTermsOfExistingPods skips existing pods' preferred terms when the
	// incoming pod has no preferred terms of its own.
	IgnorePreferredTermsOfExistingPods bool `json:"ignorePreferredTermsOfExistingPods"`
}

// weight returns the defaulted hardPodAffinityWeight.
func (a Args) weight() int32 {
	if a.HardPodAffinityWeight == nil {
		return DefaultHardPodAffinityWeight
	}
	return *a.HardPodAffinityWeight
}

// Validate checks the args as upstream's ValidateInterPodAffinityArgs does.
func (a Args) Validate() error {
	if w := a.weight(); w < 0 || w > 100 {
		return fmt.Errorf("hardPodAffinityWeight: Invalid value: %d: not in valid range [0-100]", w)
	}
	return nil
}

// decodeArgs reads *configv1.InterPodAffinityArgs (or any object with its JSON fields)
// through the unstructured converter, so the package does not import
// k8s.io/kube-scheduler; nil gives the defaults.
func decodeArgs(obj runtime.Object) (Args, error) {
	var a Args
	if obj == nil {
		return a, nil
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return a, fmt.Errorf("%s args: %w", Name, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &a); err != nil {
		return a, fmt.Errorf("%s args: %w", Name, err)
	}
	return a, nil
}
