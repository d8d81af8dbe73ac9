package scenarios

import (
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/reports/metrics"
	"github.com/orrery-sim/orrery/scenarios/assert"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/controllers/deployment"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/drain"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/scheduler"
)

// RunOptions adjust a run.
type RunOptions struct {
	// Seed overrides the scenario's seed when not nil.
	Seed *uint64
	// Until overrides the scenario's duration when positive.
	Until time.Duration
	// Observe, when set, is called after every event-log entry with the running cluster
	// (to check a property at every step); it may read through the API but not write.
	Observe func(c *sim.Cluster, e *eventlog.Entry)
	// Events, when set, receives the event log as JSON lines.
	Events io.Writer
	// Decisions, when set, receives the scheduler's per-cycle decision log.
	Decisions io.Writer
	// Progress, when set, is told the share of the virtual time run so far (done of
	// total steps), for a progress bar; it must not touch the cluster.
	Progress func(done, total int)
	// SchedulerConfig, when set, replaces the scenario's scheduler configuration.
	SchedulerConfig *configv1.KubeSchedulerConfiguration
	// Policy names the scheduler configuration in the run's results (default: the
	// scenario's spec.scheduler, "custom" with SchedulerConfig, else "default").
	Policy string
	// SampleInterval, when positive, replaces spec.sampleInterval for the metrics.
	SampleInterval time.Duration
	// NoMetrics runs without collecting metrics (Run.Metrics stays nil).
	NoMetrics bool
	// Backend, when set, makes the backend the nodes run on (real mode); see timings.go.
	Backend func(l *loop.Loop) (Backend, error)
}

// Run is a finished run.
type Run struct {
	Scenario *Scenario
	Seed     uint64
	Duration time.Duration
	Cluster  *sim.Cluster
	// Actions are the component actions of the run, in order.
	Actions []eventlog.Entry
	// Assertions are the outcomes of spec.assertions, in order.
	Assertions []assert.Result
	// FaultErrors are the faults that could not be applied when their time came.
	FaultErrors []error
	// Policy names the scheduler configuration (RunOptions.Policy).
	Policy string
	// Metrics are what was collected in virtual time (see package reports/metrics).
	Metrics *metrics.Results
}

// Failed returns the assertions that failed (not those skipped).
func (r *Run) Failed() []assert.Result {
	var out []assert.Result
	for _, a := range r.Assertions {
		if !a.Passed && !a.Skipped {
			out = append(out, a)
		}
	}
	return out
}

// Run builds the scenario's cluster, applies its manifests at 0s, schedules its timeline
// and runs it for its duration.
func (s *Scenario) Run(opts RunOptions) (*Run, error) {
	seed := uint64(1)
	if s.Spec.Seed != nil {
		seed = *s.Spec.Seed
	}
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	d := s.Spec.Duration.Duration
	if opts.Until > 0 {
		d = opts.Until
	}
	l := loop.New(seed)
	log := eventlog.New(l.Elapsed)
	if opts.Events != nil {
		log.SetOutput(opts.Events)
	}
	r := &Run{Scenario: s, Seed: seed, Duration: d}
	log.Subscribe(func(e *eventlog.Entry) {
		if e.IsAction() {
			r.Actions = append(r.Actions, *e)
		}
	})
	cfg := sim.Config{Seed: seed, Nodes: s.Nodes(), Loads: s.Loads(), Traffic: s.trafficConfig(),
		NodeIPAM: nodeipam.Options{ClusterCIDR: s.Spec.Cluster.ClusterCIDR}}
	switch {
	case opts.SchedulerConfig != nil:
		cfg.SchedulerConfig = opts.SchedulerConfig
	case s.SchedulerConfig != nil:
		cfg.SchedulerConfig = s.SchedulerConfig
	}
	var decisions *scheduler.DecisionLog
	if opts.Decisions != nil {
		decisions = scheduler.NewDecisionLog(opts.Decisions)
		cfg.Scheduler.Decisions = decisions
	}
	drive, err := s.setUpBackend(opts, l, &cfg)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
	}
	c, err := sim.NewWithLog(cfg, l, log)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
	}
	r.Cluster = c
	r.Policy = policyName(s, opts)
	var col *metrics.Collector
	if !opts.NoMetrics {
		interval := s.sampleInterval()
		if opts.SampleInterval > 0 {
			interval = opts.SampleInterval
		}
		if col, err = metrics.New(c, metrics.Options{Interval: interval}); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
		}
	}
	if opts.Observe != nil {
		c.Log.Subscribe(func(e *eventlog.Entry) { opts.Observe(c, e) })
	}
	objs := make([]runtime.Object, len(s.Objects))
	for i, o := range s.Objects {
		objs[i] = o.Obj
	}
	if err := c.Apply(objs...); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
	}
	for _, e := range s.Spec.Timeline {
		s.schedule(c, e)
	}
	s.scheduleWorkloads(c)
	injector, err := s.scheduleFaults(c, d)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
	}
	finish := s.checkAssertions(c)
	if drive != nil {
		if err := drive(d); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.Metadata.Name, err)
		}
	} else if opts.Progress == nil {
		c.RunFor(d)
	} else {
		// In 100 steps of virtual time: the same callbacks in the same order as one run.
		for i := 1; i <= 100; i++ {
			c.Loop.RunUntil(loop.Epoch.Add(d * time.Duration(i) / 100))
			opts.Progress(i, 100)
		}
	}
	r.Assertions = finish(d)
	if col != nil {
		r.Metrics = col.Finish()
	}
	r.FaultErrors = injector.Errors
	if err := log.Err(); err != nil {
		return nil, fmt.Errorf("write event log: %w", err)
	}
	if decisions != nil && decisions.Err() != nil {
		return nil, fmt.Errorf("write decision log: %w", decisions.Err())
	}
	return r, nil
}

// policyName is RunOptions.Policy or what stands for it.
func policyName(s *Scenario, opts RunOptions) string {
	switch {
	case opts.Policy != "":
		return opts.Policy
	case opts.SchedulerConfig != nil:
		return "custom"
	case s.Spec.Scheduler != "":
		return s.Spec.Scheduler
	}
	return "default"
}

// schedule puts one timeline event on the loop; faults are events like any other, so a
// failure replays exactly.
func (s *Scenario) schedule(c *sim.Cluster, e Event) {
	if e.Apply != "" {
		objs := make([]runtime.Object, len(e.objects))
		for i, o := range e.objects {
			objs[i] = o.Obj
		}
		file := e.Apply
		c.Loop.At(loop.Epoch.Add(e.At.Duration), func() {
			if err := c.Apply(objs...); err != nil {
				c.Log.Action(sim.Actor, "ApplyFailed", "", "", file, err.Error())
				return
			}
			c.Log.Action(sim.Actor, "Applied", "", "", file, fmt.Sprintf("Applied %d objects from %s", len(objs), file))
		})
		return
	}
	if scheduleObjectEvent(c, e) {
		return
	}
	at := loop.Epoch.Add(e.At.Duration)
	if n := e.AddNode; n != nil {
		node := buildNode(n.Name, n.NodeShape, n.Zone)
		c.Loop.At(at, func() {
			if err := c.AddNode(node); err != nil {
				c.Log.Action(sim.Actor, "AddNodeFailed", "nodes", "", node.Name, err.Error())
			}
		})
		return
	}
	if e.Cordon != "" || e.Uncordon != "" {
		name, cordon := e.Cordon, true
		if name == "" {
			name, cordon = e.Uncordon, false
		}
		c.Loop.At(at, func() {
			verb, fn := "NodeCordoned", drain.Cordon
			if !cordon {
				verb, fn = "NodeUncordoned", drain.Uncordon
			}
			if _, err := fn(c.Admin, name); err != nil {
				c.Log.Action(sim.Actor, verb+"Failed", "nodes", "", name, err.Error())
				return
			}
			c.Log.Action(sim.Actor, verb, "nodes", "", name, fmt.Sprintf("node/%s %s", name, strings.ToLower(strings.TrimPrefix(verb, "Node"))))
		})
		return
	}
	if r := e.Rollback; r != nil {
		ns, name := metav1.NamespaceDefault, r.Deployment
		if i := strings.IndexByte(name, '/'); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
		c.Loop.At(at, func() {
			if err := deployment.Undo(c.Admin, ns, name, r.ToRevision); err != nil {
				c.Log.Action(sim.Actor, "RollbackFailed", "deployments", ns, name, err.Error())
				return
			}
			c.Log.Action(sim.Actor, "RolledBack", "deployments", ns, name, fmt.Sprintf("deployment.apps/%s rolled back", name))
		})
		return
	}
	if d := e.Drain; d != nil {
		opts := drain.Options{Force: d.Force, IgnoreDaemonSets: d.IgnoreDaemonSets, DeleteEmptyDirData: d.DeleteEmptyDirData}
		if d.Timeout != nil {
			opts.Timeout = d.Timeout.Duration
		}
		// The drain records its own steps (NodeCordoned, PodEvicted, EvictionRetry,
		// NodeDrained or DrainFailed), as kubectl prints them.
		c.Loop.At(at, func() { drain.Start(c.Loop, c.Log, c.Admin, d.Node, opts, func(error) {}) })
		return
	}
	if name := e.RemoveNode; name != "" {
		c.Loop.At(at, func() {
			if err := c.RemoveNode(name); err != nil {
				c.Log.Action(sim.Actor, "RemoveNodeFailed", "nodes", "", name, err.Error())
			}
		})
		return
	}
	// Faults go through the run's injector (scheduleFaults).
}
