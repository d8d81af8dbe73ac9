package extender

import (
	"errors"
	"fmt"
	"time"

	configv1 "k8s.io/kube-scheduler/config/v1"
)

// DefaultHTTPTimeout is the time limit of one extender call when none is configured
// (upstream's DefaultExtenderTimeout).
const DefaultHTTPTimeout = 5 * time.Second

// Config is how to reach one extender and what it does; the fields are configv1.Extender's.
// A verb left empty means the extender does not offer that call.
type Config struct {
	// URLPrefix is where the extender listens; a call goes to URLPrefix/verb.
	URLPrefix string
	// FilterVerb is the filter call's verb.
	FilterVerb string
	// PrioritizeVerb is the prioritize call's verb.
	PrioritizeVerb string
	// BindVerb is the bind call's verb; an extender with one binds the pods it is interested
	// in, instead of the scheduler. At most one extender may bind.
	BindVerb string
	// Weight multiplies the extender's prioritize scores; it must be positive if
	// PrioritizeVerb is set.
	Weight int64
	// NodeCacheCapable means the extender keeps its own node cache, so calls carry node
	// names (ExtenderArgs.NodeNames) instead of Node objects (ExtenderArgs.Nodes).
	NodeCacheCapable bool
	// ManagedResources are the extended resources the extender manages; when set, only pods
	// that request or limit one of them are sent to it. Empty means every pod.
	ManagedResources []string
	// Ignorable means a failing filter call is skipped instead of failing the pod's
	// scheduling.
	Ignorable bool
	// HTTPTimeout bounds each call in wall-clock time; 0 is DefaultHTTPTimeout.
	HTTPTimeout time.Duration
}

// Validation messages, as kube-scheduler's configuration validation words them.
const (
	msgWeight    = "must have a positive weight applied to it"
	msgOneBinder = "only one extender can implement bind"
)

// Validate checks one extender's configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.URLPrefix == "" {
		errs = append(errs, errors.New("urlPrefix: Required value"))
	}
	if c.PrioritizeVerb != "" && c.Weight <= 0 {
		errs = append(errs, fmt.Errorf("weight: Invalid value: %d: %s", c.Weight, msgWeight))
	}
	if c.HTTPTimeout < 0 {
		errs = append(errs, fmt.Errorf("httpTimeout: Invalid value: %s: must not be negative", c.HTTPTimeout))
	}
	return errors.Join(errs...)
}

// ValidateAll checks a scheduler's extenders: each one, and that at most one binds.
func ValidateAll(cfgs []Config) error {
	var errs []error
	binders := 0
	for i := range cfgs {
		if err := cfgs[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("extenders[%d].%w", i, err))
		}
		if cfgs[i].BindVerb != "" {
			binders++
		}
	}
	if binders > 1 {
		errs = append(errs, fmt.Errorf("extenders: Invalid value: found %d extenders implementing bind: %s", binders, msgOneBinder))
	}
	return errors.Join(errs...)
}

// FromV1 converts a KubeSchedulerConfiguration's extender entry. The fields Orrery does not
// implement — preemptVerb, enableHTTPS and tlsConfig — are an error rather than silently
// dropped (an https urlPrefix still works, verified against the system's roots).
func FromV1(e configv1.Extender) (Config, error) {
	switch {
	case e.PreemptVerb != "":
		return Config{}, errors.New("extender " + e.URLPrefix + ": preemptVerb is not supported by Orrery")
	case e.EnableHTTPS || e.TLSConfig != nil:
		return Config{}, errors.New("extender " + e.URLPrefix + ": enableHTTPS and tlsConfig are not supported by Orrery")
	}
	c := Config{
		URLPrefix:        e.URLPrefix,
		FilterVerb:       e.FilterVerb,
		PrioritizeVerb:   e.PrioritizeVerb,
		BindVerb:         e.BindVerb,
		Weight:           e.Weight,
		NodeCacheCapable: e.NodeCacheCapable,
		Ignorable:        e.Ignorable,
		HTTPTimeout:      e.HTTPTimeout.Duration,
	}
	for _, r := range e.ManagedResources {
		c.ManagedResources = append(c.ManagedResources, r.Name)
	}
	return c, nil
}
