package scheduler

import (
	"encoding/json"
	"io"
)

// DecisionLog writes one JSON line per scheduling cycle (the `orrery run --decisions FILE`
// output): the pod, every evaluated node's filter verdict, every scored node's raw and
// normalised score per plugin with its weight and the weighted total, and the outcome.
// The schema is documented in sim/scheduler/README.md.
type DecisionLog struct {
	enc *json.Encoder
	err error
}

// NewDecisionLog writes decisions to w.
func NewDecisionLog(w io.Writer) *DecisionLog { return &DecisionLog{enc: json.NewEncoder(w)} }

// Err returns the first write error.
func (d *DecisionLog) Err() error { return d.err }

func (d *DecisionLog) write(rec *Decision) {
	if d.err == nil {
		d.err = d.enc.Encode(rec)
	}
}

// Decision is one scheduling cycle.
type Decision struct {
	Cycle   uint64 `json:"cycle"`
	Time    string `json:"t"`
	Pod     string `json:"pod"`
	Profile string `json:"profile"`
	// Nodes is how many nodes the cluster had; Filter lists those evaluated (sampling may
	// stop early).
	Nodes  int             `json:"nodes"`
	Filter []FilterVerdict `json:"filter"`
	Scores []NodeScores    `json:"scores,omitempty"`
	// Result is Scheduled, Unschedulable, Error or BindError.
	Result  string `json:"result"`
	Chosen  string `json:"chosen,omitempty"`
	Message string `json:"message,omitempty"`
	// Nominated is the node preemption nominated for the pod.
	Nominated string `json:"nominated,omitempty"`
}

// FilterVerdict is one node's filter outcome: fits, or the first plugin that rejected it.
type FilterVerdict struct {
	Node   string `json:"node"`
	Fits   bool   `json:"fits"`
	Plugin string `json:"plugin,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// NodeScores are one node's scores.
type NodeScores struct {
	Node    string        `json:"node"`
	Plugins []PluginScore `json:"plugins"`
	Total   int64         `json:"total"`
}

// PluginScore is one plugin's score of one node.
type PluginScore struct {
	Plugin     string `json:"plugin"`
	Raw        int64  `json:"raw"`
	Normalized int64  `json:"normalized"`
	Weight     int64  `json:"weight"`
}
