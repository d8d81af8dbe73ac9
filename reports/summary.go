// Package reports turns a finished run into what people and programs read: a timeline of
// the events that matter, tables of nodes and workloads, and a JSON result with the
// event-log hash.
package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/reports/metrics"
	"github.com/orrery-sim/orrery/scenarios"
	"github.com/orrery-sim/orrery/sim/apiserver"
)

// Version is Orrery's version, recorded in every result.
const Version = "0.1.0-dev"

// TimelineReasons are the component actions shown in a run's timeline.
var TimelineReasons = map[string]bool{
	"Starting": true, "Scheduled": true, "Started": true, "FailedScheduling": true,
	"ScalingReplicaSet": true, "SuccessfulCreate": true, "SuccessfulDelete": true,
	"NodeCrash": true, "NodeRecover": true, "NodeNotReady": true, "NodeTainted": true, "NodeReady": true,
	"TaintManagerEviction": true, "Killing": true, "OutOfcpu": true, "OutOfmemory": true, "OutOfpods": true,
	"NodeAdd": true, "NodeRemove": true, "NodeCordoned": true, "NodeUncordoned": true, "NodeDrained": true, "DrainFailed": true,
	"PodEvicted": true, "EvictionRetry": true, "Applied": true, "ApplyFailed": true, "OOMKilled": true, "PodCompleted": true,
	"SuccessfulRescale": true, "Completed": true, "BackoffLimitExceeded": true, "DeadlineExceeded": true, "TTLExpired": true,
	"Suspended": true, "Resumed": true, "RolledBack": true, "RollbackFailed": true, "DeploymentRollback": true,
	// Faults and what the kubelet does under pressure.
	"ZoneOutage": true, "KubeletStop": true, "KubeletStart": true, "NetworkPartition": true, "NetworkHeal": true,
	"ContainerCrash": true, "MemoryPressure": true, "MemoryPressureReleased": true, "DiskPressure": true,
	"DiskPressureReleased": true, "SlowRegistry": true, "SlowRegistryRestored": true, "APIServerBrownout": true,
	"APIServerBrownoutOver": true, "Evicted": true, "ImageGC": true, "NodeHasInsufficientMemory": true,
	"NodeHasSufficientMemory": true, "NodeHasDiskPressure": true, "NodeHasNoDiskPressure": true, "Preempted": true,
	"NodeAffinity": true, "NodePorts": true, "TaintToleration": true,
	// Imported and generated workloads.
	"SnapshotLoaded": true, "TraceLoaded": true, "WorkloadGenerated": true, "WorkloadFailed": true,
	"WorkloadCreateFailed": true, "WorkloadFinished": true,
}

// MaxTextTimeline is how many timeline lines the text output shows: the first and the last
// ones, with a count of those left out (-o json has them all).
const MaxTextTimeline = 120

// TimelineEntry is one line of the timeline.
type TimelineEntry struct {
	At      string `json:"at"`
	Actor   string `json:"actor"`
	Reason  string `json:"reason"`
	Object  string `json:"object"`
	Message string `json:"message"`
}

// NodeRow is one node at the end of the run.
type NodeRow struct {
	Name   string   `json:"name"`
	Ready  string   `json:"ready"`
	Taints []string `json:"taints,omitempty"`
	Pods   int      `json:"pods"`
}

// DeploymentRow is one Deployment at the end of the run.
type DeploymentRow struct {
	Name        string `json:"name"`
	Desired     int32  `json:"desired"`
	Ready       int32  `json:"ready"`
	UpToDate    int32  `json:"upToDate"`
	Available   int32  `json:"available"`
	Terminating int    `json:"terminating"`
}

// Result is the machine-readable outcome of a run (results.json; reports/README.md
// describes every field).
type Result struct {
	Orrery            string `json:"orrery"`
	KubernetesVersion string `json:"kubernetesVersion"`
	Scenario          string `json:"scenario"`
	Seed              uint64 `json:"seed"`
	// Policy names the scheduler configuration (a policy name, a file, or "default").
	Policy   string          `json:"policy"`
	Duration string          `json:"duration"`
	EventLog EventLogSummary `json:"eventLog"`
	// Metrics are the run's scalar metrics (Metrics(res) when it was summarized).
	Metrics []Metric `json:"metrics"`
	// SampleInterval is the time between the samples of Series.
	SampleInterval string `json:"sampleInterval,omitempty"`
	// Series are the sampled quantities (see package reports/metrics).
	Series []metrics.Series `json:"series,omitempty"`
	// Details are the metrics taken from events: latency distributions, counts, faults
	// and recoveries, rollouts, Jobs.
	Details  *metrics.Details `json:"details,omitempty"`
	Timeline []TimelineEntry  `json:"timeline"`
	Nodes    []NodeRow        `json:"nodes"`
	// NodesInUse counts nodes running at least one pod (a bin-packing measure).
	NodesInUse  int             `json:"nodesInUse"`
	Deployments []DeploymentRow `json:"deployments"`
	// Traffic is every request stream's outcome, when the scenario has spec.traffic.
	Traffic []TrafficRow `json:"traffic,omitempty"`
	// Assertions are the outcomes of the scenario's assertions.
	Assertions []AssertionRow `json:"assertions,omitempty"`
	// FaultErrors are faults that could not be applied when their time came.
	FaultErrors []string `json:"faultErrors,omitempty"`
	// GPU is how the run used the cluster's GPUs, when its nodes have any.
	GPU *GPUResult `json:"gpu,omitempty"`
}

// Failed counts the failed assertions.
func (r *Result) Failed() int {
	n := 0
	for _, a := range r.Assertions {
		if !a.Passed && !a.Skipped {
			n++
		}
	}
	return n
}

// EventLogSummary identifies the event log: its length and SHA-256.
type EventLogSummary struct {
	Entries uint64 `json:"entries"`
	SHA256  string `json:"sha256"`
}

// Summarize reads the end state of a run through the API server, as the admin.
func Summarize(r *scenarios.Run) (*Result, error) {
	c := r.Cluster
	res := &Result{
		Orrery: Version, KubernetesVersion: model.KubernetesVersion,
		Scenario: r.Scenario.Metadata.Name, Seed: r.Seed, Policy: r.Policy, Duration: r.Duration.String(),
		EventLog:   EventLogSummary{Entries: c.Log.Len(), SHA256: c.Log.Hash()},
		Timeline:   []TimelineEntry{},
		Assertions: assertionRows(r.Assertions),
	}
	if m := r.Metrics; m != nil {
		res.SampleInterval, res.Series, res.Details = m.Interval.String(), m.Series, &m.Details
	}
	for _, err := range r.FaultErrors {
		res.FaultErrors = append(res.FaultErrors, err.Error())
	}
	for _, e := range r.Actions {
		if !TimelineReasons[e.Reason] {
			continue
		}
		obj := e.Name
		if e.Namespace != "" {
			obj = e.Namespace + "/" + e.Name
		}
		object := strings.TrimSuffix(e.Resource, "s") + "/" + obj
		if e.Resource == "" {
			object = obj // a file or another non-API thing
		}
		res.Timeline = append(res.Timeline, TimelineEntry{At: fmtAt(e.At), Actor: e.Actor, Reason: e.Reason, Object: object, Message: e.Message})
	}
	pods, err := c.Admin.List("pods", "", apiserver.Filter{}, true)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	perNode := map[string]int{}
	terminating := map[string]int{} // by owner name prefix (ReplicaSet)
	for _, o := range pods.Items {
		p := o.(*corev1.Pod)
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			perNode[p.Spec.NodeName]++
		}
		if p.DeletionTimestamp != nil {
			for _, ref := range p.OwnerReferences {
				terminating[p.Namespace+"/"+ref.Name]++
			}
		}
	}
	nodes, err := c.Admin.List("nodes", "", apiserver.Filter{}, true)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for _, o := range nodes.Items {
		n := o.(*corev1.Node)
		row := NodeRow{Name: n.Name, Ready: "Unknown", Pods: perNode[n.Name]}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				row.Ready = string(cond.Status)
			}
		}
		for _, t := range n.Spec.Taints {
			row.Taints = append(row.Taints, t.Key+":"+string(t.Effect))
		}
		res.Nodes = append(res.Nodes, row)
		if row.Pods > 0 {
			res.NodesInUse++
		}
	}
	deploys, err := c.Admin.List("deployments", "", apiserver.Filter{}, true)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	rss, err := c.Admin.List("replicasets", "", apiserver.Filter{}, true)
	if err != nil {
		return nil, fmt.Errorf("list replicasets: %w", err)
	}
	for _, o := range deploys.Items {
		d := o.(*appsv1.Deployment)
		row := DeploymentRow{Name: d.Namespace + "/" + d.Name, Desired: 1, Ready: d.Status.ReadyReplicas, UpToDate: d.Status.UpdatedReplicas, Available: d.Status.AvailableReplicas}
		if d.Spec.Replicas != nil {
			row.Desired = *d.Spec.Replicas
		}
		for _, ro := range rss.Items {
			rs := ro.(*appsv1.ReplicaSet)
			for _, ref := range rs.OwnerReferences {
				if ref.UID == d.UID {
					row.Terminating += terminating[rs.Namespace+"/"+rs.Name]
				}
			}
		}
		res.Deployments = append(res.Deployments, row)
	}
	sort.Slice(res.Deployments, func(i, j int) bool { return res.Deployments[i].Name < res.Deployments[j].Name })
	res.Traffic = trafficRows(c)
	podList := make([]*corev1.Pod, len(pods.Items))
	for i, o := range pods.Items {
		podList[i] = o.(*corev1.Pod)
	}
	nodeList := make([]*corev1.Node, len(nodes.Items))
	for i, o := range nodes.Items {
		nodeList[i] = o.(*corev1.Node)
	}
	if res.GPU, err = gpuResult(r.Scenario, nodeList, podList); err != nil {
		return nil, fmt.Errorf("GPUs: %w", err)
	}
	res.Metrics = Metrics(res)
	return res, nil
}

// fmtAt prints a virtual time as a duration from the start, aligned for the timeline.
func fmtAt(d time.Duration) string {
	return d.Round(time.Millisecond).String()
}

// WriteJSON writes the result as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// ReadJSON reads a result written by WriteJSON (a results.json).
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return &res, nil
}

// WriteText writes the timeline, the node and workload tables and the event-log hash.
func WriteText(w io.Writer, res *Result) error {
	fmt.Fprintf(w, "Scenario %s, seed %d, %s of virtual time (Kubernetes %s behaviour)\n\n", res.Scenario, res.Seed, res.Duration, res.KubernetesVersion)
	fmt.Fprintln(w, "Timeline")
	for i, e := range res.Timeline {
		if n := len(res.Timeline); n > MaxTextTimeline && i >= MaxTextTimeline*2/3 && i < n-MaxTextTimeline/3 {
			if i == MaxTextTimeline*2/3 {
				fmt.Fprintf(w, "  %10s  … %d more entries (-o json lists them all)\n", "", n-MaxTextTimeline)
			}
			continue
		}
		fmt.Fprintf(w, "  %10s  %-20s %-34s %s\n", e.At, e.Reason, e.Object, e.Message)
	}
	fmt.Fprintln(w)
	nt := tablewriter.NewWriter(w)
	nt.Header("Node", "Ready", "Running pods", "Taints")
	for _, n := range res.Nodes {
		if err := nt.Append(n.Name, n.Ready, fmt.Sprint(n.Pods), strings.Join(n.Taints, ", ")); err != nil {
			return err
		}
	}
	if err := nt.Render(); err != nil {
		return err
	}
	dt := tablewriter.NewWriter(w)
	dt.Header("Deployment", "Ready", "Updated", "Available", "Terminating")
	for _, d := range res.Deployments {
		if err := dt.Append(d.Name, fmt.Sprintf("%d/%d", d.Ready, d.Desired), fmt.Sprint(d.UpToDate), fmt.Sprint(d.Available), fmt.Sprint(d.Terminating)); err != nil {
			return err
		}
	}
	if err := dt.Render(); err != nil {
		return err
	}
	if err := writeTraffic(w, res.Traffic); err != nil {
		return err
	}
	if err := writeAssertions(w, res.Assertions); err != nil {
		return err
	}
	writeMetrics(w, res.Details)
	for _, e := range res.FaultErrors {
		fmt.Fprintf(w, "\nFault not applied: %s", e)
	}
	fmt.Fprintf(w, "\nNodes in use: %d of %d\n", res.NodesInUse, len(res.Nodes))
	fmt.Fprintf(w, "Event log: %d entries, sha256 %s\n", res.EventLog.Entries, res.EventLog.SHA256)
	return nil
}
