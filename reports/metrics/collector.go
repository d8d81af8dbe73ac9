package metrics

import (
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

// Options adjust a Collector.
type Options struct {
	// Interval is how often quantities are sampled (default DefaultInterval).
	Interval time.Duration
	// DegradeWindow is how long after a fault a degradation is still attributed to it
	// (default DefaultDegradeWindow).
	DegradeWindow time.Duration
}

// Collector gathers a run's metrics while it runs; Finish returns them.
type Collector struct {
	c    *sim.Cluster
	opts Options
	res  *resources
	done bool
	tick *loop.Timer

	// Pods and nodes, as the informers last saw them.
	pods          map[string]*podState
	namespaces    map[string]int // pods per namespace
	nodes         map[string]*nodeState
	order         []string // node names in order, with gone nodes that still have pods
	extended      map[string]bool
	pending       int
	unschedulable map[string]int
	queued        map[shape]int
	cpuMedian     median
	memMedian     median
	// usageWindow is 1 + the metrics server resolution window whose usage sums
	// usageCPU and usageMem hold (0: none).
	usageWindow        int64
	usageCPU, usageMem int64

	// From the event log.
	created    map[string]time.Duration
	scheduling []time.Duration
	startup    []time.Duration
	startupE2E []time.Duration
	counts     Counts

	// Workloads and faults.
	degraded map[string]bool
	faults   []*faultState
	rollouts map[string]time.Duration
	finished []Rollout
	jobsSeen map[types.UID]bool
	jobs     []Job

	samples     seriesSet
	lastTraffic map[string][2]uint64
}

// New starts collecting on a cluster, from now: it subscribes to the event log, starts
// informers as the admin and samples every interval from now on.
func New(c *sim.Cluster, opts Options) (*Collector, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.DegradeWindow <= 0 {
		opts.DegradeWindow = DefaultDegradeWindow
	}
	col := &Collector{
		c: c, opts: opts, res: newResources(),
		pods: map[string]*podState{}, namespaces: map[string]int{}, nodes: map[string]*nodeState{}, extended: map[string]bool{},
		unschedulable: map[string]int{}, queued: map[shape]int{},
		created: map[string]time.Duration{}, degraded: map[string]bool{}, rollouts: map[string]time.Duration{},
		jobsSeen: map[types.UID]bool{}, samples: seriesSet{byName: map[string]*series{}}, lastTraffic: map[string][2]uint64{},
	}
	c.Log.Subscribe(col.onEntry)
	for _, w := range []struct {
		resource string
		h        informer.Handler
	}{
		{"nodes", informer.Handler{OnAdd: col.onNode, OnUpdate: func(_, cur runtime.Object) { col.onNode(cur) }, OnDelete: col.onNodeDelete}},
		{"pods", informer.Handler{OnAdd: col.onPodAdd, OnUpdate: col.onPodUpdate, OnDelete: col.onPodDelete}},
		{"deployments", informer.Handler{OnAdd: func(o runtime.Object) { col.onDeployment(nil, o) }, OnUpdate: col.onDeployment, OnDelete: col.onDeploymentDelete}},
		{"daemonsets", informer.Handler{OnAdd: col.onDaemonSet, OnUpdate: func(_, cur runtime.Object) { col.onDaemonSet(cur) }, OnDelete: col.onDaemonSetDelete}},
		{"jobs", informer.Handler{OnAdd: col.onJob, OnUpdate: func(_, cur runtime.Object) { col.onJob(cur) }}},
	} {
		inf := informer.New(c.Admin, w.resource, "", apiserver.Filter{})
		inf.AddHandler(w.h)
		if err := inf.Start(); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	var tick func()
	tick = func() {
		col.sample()
		col.tick = c.Loop.After(opts.Interval, tick)
	}
	col.tick = c.Loop.At(c.Loop.Now(), tick)
	return col, nil
}

// Finish takes a last sample (unless one was taken now), stops collecting and returns
// what was collected.
func (col *Collector) Finish() *Results {
	if !col.done {
		col.sample()
		col.done = true
		col.tick.Stop()
	}
	now := col.c.Loop.Elapsed()
	d := Details{
		SchedulingLatency: NewDistribution(col.scheduling),
		PodStartup:        NewDistribution(col.startup),
		PodStartupE2E:     NewDistribution(col.startupE2E),
		Counts:            col.counts,
		Faults:            []Fault{},
		Rollouts:          append([]Rollout{}, col.finished...),
		Jobs:              append([]Job{}, col.jobs...),
	}
	keys := make([]string, 0, len(col.rollouts))
	for k := range col.rollouts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := col.rollouts[k]
		d.Rollouts = append(d.Rollouts, Rollout{Deployment: k, At: at.Seconds(), Outcome: RolloutUnfinished, Duration: (now - at).Seconds()})
	}
	for _, f := range col.faults {
		d.Faults = append(d.Faults, f.Fault)
	}
	if len(col.jobs) > 0 {
		first, last := col.jobs[0].Created, col.jobs[0].Finished
		for _, j := range col.jobs {
			first, last = min(first, j.Created), max(last, j.Finished)
		}
		d.Makespan = last - first
	}
	return &Results{Interval: col.opts.Interval, Series: col.samples.build(), Details: d}
}

// sample records every sampled quantity now (once per instant).
func (col *Collector) sample() {
	if col.done {
		return
	}
	now := col.c.Loop.Elapsed().Seconds()
	s := &col.samples
	if n := len(s.times); n > 0 && s.times[n-1] == now {
		return
	}
	s.begin(now)
	s.set("pods.pending", "pods", float64(col.pending))
	total := 0
	reasons := make([]string, 0, len(col.unschedulable))
	for r, n := range col.unschedulable {
		reasons = append(reasons, r)
		total += n
	}
	sort.Strings(reasons)
	s.set("pods.unschedulable", "pods", float64(total))
	for _, r := range reasons {
		s.set("pods.unschedulable["+r+"]", "pods", float64(col.unschedulable[r]))
	}
	col.sampleNodes(s)
	col.sampleTraffic(s)
	s.end()
}

// sampleTraffic records each Service's requests, failures and availability since the
// previous sample.
func (col *Collector) sampleTraffic(s *seriesSet) {
	t := col.c.Traffic()
	if t == nil {
		return
	}
	var names []string
	totals := map[string][2]uint64{}
	for _, st := range t.Stats() {
		name := st.Stream.Name()
		if _, ok := totals[name]; !ok {
			names = append(names, name)
		}
		v := totals[name]
		totals[name] = [2]uint64{v[0] + st.Requests, v[1] + st.Failed}
	}
	for _, name := range names {
		cur, prev := totals[name], col.lastTraffic[name]
		req, failed := cur[0]-prev[0], cur[1]-prev[1]
		col.lastTraffic[name] = cur
		avail := 1.0
		if req > 0 {
			avail = float64(req-failed) / float64(req)
		}
		s.set("traffic."+name+".requests", "requests", float64(req))
		s.set("traffic."+name+".failed", "requests", float64(failed))
		s.set("traffic."+name+".availability", "ratio", avail)
	}
}

// seriesSet builds series that share their sample times; a series first set at a later
// sample reads 0 before it, and 0 at samples where it is not set.
type seriesSet struct {
	times  []float64
	list   []*series
	byName map[string]*series
}

type series struct {
	name, unit string
	vals       []float64
}

func (s *seriesSet) begin(t float64) { s.times = append(s.times, t) }

func (s *seriesSet) set(name, unit string, v float64) {
	se := s.byName[name]
	if se == nil {
		se = &series{name: name, unit: unit, vals: make([]float64, len(s.times)-1, len(s.times)+16)}
		s.byName[name] = se
		s.list = append(s.list, se)
	}
	se.vals = append(se.vals, v)
}

func (s *seriesSet) end() {
	for _, se := range s.list {
		for len(se.vals) < len(s.times) {
			se.vals = append(se.vals, 0)
		}
	}
}

func (s *seriesSet) build() []Series {
	out := make([]Series, 0, len(s.list))
	for _, se := range s.list {
		pts := make([]Point, len(se.vals))
		for i, v := range se.vals {
			pts[i] = Point{T: s.times[i], V: v}
		}
		out = append(out, Series{Name: se.name, Unit: se.unit, Points: pts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
