package scenarios

import (
	"time"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/kubelet"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Timings scale Kubernetes' own timings for a scenario (spec.timings), so that a run on
// real containers (`orrery real`) takes minutes; its simulated twin gets the same. Unset
// fields keep Kubernetes' defaults. Pod-level timings (terminationGracePeriodSeconds,
// tolerationSeconds) belong in the manifests.
type Timings struct {
	// NodeStatusUpdateFrequency is how often kubelets compute node status (10s).
	NodeStatusUpdateFrequency *Duration `yaml:"nodeStatusUpdateFrequency"`
	// NodeLeaseRenewInterval and NodeLeaseDuration are the kubelets' Lease timings (10s,
	// 40s).
	NodeLeaseRenewInterval *Duration `yaml:"nodeLeaseRenewInterval"`
	NodeLeaseDuration      *Duration `yaml:"nodeLeaseDuration"`
	// NodeMonitorPeriod and NodeMonitorGracePeriod are the node lifecycle controller's
	// (5s, 50s).
	NodeMonitorPeriod      *Duration `yaml:"nodeMonitorPeriod"`
	NodeMonitorGracePeriod *Duration `yaml:"nodeMonitorGracePeriod"`
	// ContainerBackOffInitial and ContainerBackOffMax bound CrashLoopBackOff (10s, 5m).
	ContainerBackOffInitial *Duration `yaml:"containerBackOffInitial"`
	ContainerBackOffMax     *Duration `yaml:"containerBackOffMax"`
}

// applyTimings puts spec.timings into the cluster's configuration.
func (s *Scenario) applyTimings(cfg *sim.Config) {
	t := s.Spec.Timings
	if t == nil {
		return
	}
	set := func(dst *time.Duration, src *Duration) {
		if src != nil {
			*dst = src.Duration
		}
	}
	set(&cfg.Kubelet.NodeStatusUpdateFrequency, t.NodeStatusUpdateFrequency)
	set(&cfg.Kubelet.LeaseRenewInterval, t.NodeLeaseRenewInterval)
	set(&cfg.Kubelet.LeaseDuration, t.NodeLeaseDuration)
	set(&cfg.NodeLifecycle.MonitorPeriod, t.NodeMonitorPeriod)
	set(&cfg.NodeLifecycle.GracePeriod, t.NodeMonitorGracePeriod)
	set(&cfg.Kubelet.BackOffInitial, t.ContainerBackOffInitial)
	set(&cfg.Kubelet.BackOffMax, t.ContainerBackOffMax)
}

// validateTimings checks that every timing is positive and that the lease is renewed
// within the node-monitor grace period.
func (s *Scenario) validateTimings() model.ErrorList {
	t := s.Spec.Timings
	if t == nil {
		return nil
	}
	var errs model.ErrorList
	for _, f := range []struct {
		name string
		d    *Duration
	}{
		{"nodeStatusUpdateFrequency", t.NodeStatusUpdateFrequency}, {"nodeLeaseRenewInterval", t.NodeLeaseRenewInterval},
		{"nodeLeaseDuration", t.NodeLeaseDuration}, {"nodeMonitorPeriod", t.NodeMonitorPeriod},
		{"nodeMonitorGracePeriod", t.NodeMonitorGracePeriod}, {"containerBackOffInitial", t.ContainerBackOffInitial},
		{"containerBackOffMax", t.ContainerBackOffMax},
	} {
		if f.d != nil && f.d.Duration <= 0 {
			errs = append(errs, s.errorf("spec.timings."+f.name, "Invalid value: %q: must be positive", f.d.Duration))
		}
	}
	renew, grace := kubelet.DefaultLeaseRenewInterval, time.Duration(0)
	if t.NodeLeaseRenewInterval != nil {
		renew = t.NodeLeaseRenewInterval.Duration
	}
	if t.NodeMonitorGracePeriod != nil {
		grace = t.NodeMonitorGracePeriod.Duration
	}
	if grace > 0 && renew >= grace {
		errs = append(errs, s.errorf("spec.timings.nodeMonitorGracePeriod", "Invalid value: %q: must be longer than the lease renew interval (%v), or every node goes NotReady", grace, renew))
	}
	return errs
}

// Backend runs a scenario's nodes on something other than the simulated runtime: real
// mode's containerd runtime, its loop paced by the wall clock (see cmd/orrery real.go).
type Backend interface {
	// Runtime makes a node's container runtime (sim.Config.Runtime).
	Runtime(clock loop.Clock, cfg kubelet.Config) (kubelet.Runtime, error)
	// Drive runs the loop for d from where it stands.
	Drive(l *loop.Loop, d time.Duration) error
}

// setUpBackend applies spec.timings and, with RunOptions.Backend, puts the backend's
// runtimes in the cluster's configuration; it returns how to run the loop (nil: in
// virtual time).
func (s *Scenario) setUpBackend(opts RunOptions, l *loop.Loop, cfg *sim.Config) (func(time.Duration) error, error) {
	s.applyTimings(cfg)
	if opts.Backend == nil {
		return nil, nil
	}
	b, err := opts.Backend(l)
	if err != nil {
		return nil, err
	}
	cfg.Runtime = b.Runtime
	return func(d time.Duration) error { return b.Drive(l, d) }, nil
}
