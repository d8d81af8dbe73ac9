// Package openbfgd is the experiment of the built-in scenario openb-fgd: the GPU-sharing
// policies of Weng et al. (USENIX ATC'23) on the OpenB default trace filled to 130% of the
// cluster's GPUs. Run runs one policy and seed and measures it with reports/gpu;
// TestExperiment runs the ten-seed table of the scenario's README.
package openbfgd

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/reports/gpu"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// Scenario is the built-in scenario of the experiment.
const Scenario = "openb-fgd"

// Steps is the last arrival step, in % of the cluster's GPU capacity (the protocol's
// 130%).
const Steps = 130

// Policy is one of the experiment's scheduler configurations: the paper's name for it and
// its file in the scenario's folder.
type Policy struct {
	Name, File string
}

// Policies are the six policies of the paper's figure 9(a), in its order.
var Policies = []Policy{
	{"Random", "random.yaml"},
	{"DotProd", "dotproduct.yaml"},
	{"GpuClustering", "clustering.yaml"},
	{"GpuPacking", "packing.yaml"},
	{"BestFit", "bestfit.yaml"},
	{"FGD", "fgd.yaml"},
}

// LoadConfig reads a policy's scheduler configuration from the scenario's folder dir.
func LoadConfig(dir string, p Policy) (*configv1.KubeSchedulerConfiguration, error) {
	return schedconfig.LoadFor(filepath.Join(dir, p.File), schedconfig.PluginNames(plugins.All()))
}

// Workload returns the target workload that FGDScore's args give in a configuration, the
// one fragmentation is measured against.
func Workload(cfg *configv1.KubeSchedulerConfiguration) (*fgd.Workload, error) {
	for _, prof := range cfg.Profiles {
		for _, pc := range prof.PluginConfig {
			if pc.Name != fgd.Name {
				continue
			}
			p, err := fgd.New(pc.Args.Object, nil)
			if err != nil {
				return nil, err
			}
			return p.(*fgd.FGD).Workload(), nil
		}
	}
	return nil, fmt.Errorf("no %s args in the configuration", fgd.Name)
}

// WithoutTieBreak returns a copy of cfg whose GPU policies break ties at random, as
// upstream's scheduler does, instead of by node order (their tieBreak arg removed).
func WithoutTieBreak(cfg *configv1.KubeSchedulerConfiguration) (*configv1.KubeSchedulerConfiguration, error) {
	out := cfg.DeepCopy()
	for i := range out.Profiles {
		for j := range out.Profiles[i].PluginConfig {
			pc := &out.Profiles[i].PluginConfig[j]
			u, ok := pc.Args.Object.(*runtime.Unknown)
			if !ok {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(u.Raw, &m); err != nil {
				return nil, fmt.Errorf("%s args: %w", pc.Name, err)
			}
			if _, ok := m["tieBreak"]; !ok {
				continue
			}
			delete(m, "tieBreak")
			raw, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			pc.Args = runtime.RawExtension{Raw: raw, Object: &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}}
		}
	}
	return out, nil
}

// Run runs scenario s under cfg with seed and analyzes the run against w.
func Run(s *scenarios.Scenario, cfg *configv1.KubeSchedulerConfiguration, seed uint64, w *fgd.Workload) (*gpu.Measures, error) {
	run, err := s.Run(scenarios.RunOptions{Seed: &seed, SchedulerConfig: cfg, NoMetrics: true})
	if err != nil {
		return nil, err
	}
	nodes, err := list[*corev1.Node](run.Cluster.Admin, "nodes")
	if err != nil {
		return nil, err
	}
	pods, err := list[*corev1.Pod](run.Cluster.Admin, "pods")
	if err != nil {
		return nil, err
	}
	return gpu.Analyze(nodes, pods, w, Steps)
}

func list[T runtime.Object](c *apiserver.Client, resource string) ([]T, error) {
	res, err := c.List(resource, "", apiserver.Filter{}, false)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", resource, err)
	}
	out := make([]T, 0, len(res.Items))
	for _, o := range res.Items {
		out = append(out, o.(T))
	}
	return out, nil
}
