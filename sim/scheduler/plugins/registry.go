// Package plugins gathers the scheduler's plugins into registries: InTree is upstream's
// default set (as far as Orrery models it), All adds the research policies and the
// GPU-sharing plugins (GPU), and each can be merged with a researcher's own plugins before
// a configuration file is built.
package plugins

import (
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/defaultbinder"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/defaultpreemption"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/fgd"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpubestfit"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpuclustering"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpudotproduct"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpupacking"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpurandom"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/imagelocality"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/interpodaffinity"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeaffinity"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodename"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeports"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/noderesources"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/nodeunschedulable"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/podtopologyspread"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/policies"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/queuesort"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/schedulinggates"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/tainttoleration"
)

// InTree returns upstream's plugins, by the names configuration files use.
func InTree() framework.Registry {
	return framework.Registry{
		schedulinggates.Name:                 schedulinggates.NewSchedulingGates,
		queuesort.Name:                       queuesort.NewPrioritySort,
		nodeunschedulable.Name:               nodeunschedulable.NewNodeUnschedulable,
		nodename.Name:                        nodename.NewNodeName,
		tainttoleration.Name:                 tainttoleration.NewTaintToleration,
		nodeaffinity.Name:                    nodeaffinity.New,
		nodeports.Name:                       nodeports.New,
		imagelocality.Name:                   imagelocality.New,
		noderesources.Name:                   noderesources.NewFit,
		noderesources.BalancedAllocationName: noderesources.NewBalancedAllocation,
		podtopologyspread.Name:               podtopologyspread.New,
		interpodaffinity.Name:                interpodaffinity.New,
		defaultpreemption.Name:               defaultpreemption.New,
		defaultbinder.Name:                   defaultbinder.NewDefaultBinder,
	}
}

// GPU returns the GPU-sharing plugins: GPUShare (accounting, Filter, Reserve, Bind) and
// the policies of Weng et al., ATC'23, by their artifact's names.
func GPU() framework.Registry {
	return framework.Registry{
		gpushare.Name:      gpushare.New,
		fgd.Name:           fgd.New,
		gpupacking.Name:    gpupacking.New,
		gpuclustering.Name: gpuclustering.New,
		gpubestfit.Name:    gpubestfit.New,
		gpudotproduct.Name: gpudotproduct.New,
		gpurandom.Name:     gpurandom.New,
	}
}

// All returns the in-tree plugins, the research policies and the GPU-sharing plugins.
func All() framework.Registry {
	r := InTree()
	for _, more := range []framework.Registry{policies.Registry(), GPU()} {
		if err := r.Merge(more); err != nil {
			panic(err) // the sets are fixed and disjoint; a clash is a programming error
		}
	}
	return r
}
