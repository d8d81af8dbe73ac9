package reports

import "sort"

// Better says which way a metric improves.
type Better string

// Directions of improvement.
const (
	Lower  Better = "lower"
	Higher Better = "higher"
	// Neither marks a metric that describes a run without ranking it.
	Neither Better = ""
)

// Metric is one scalar outcome of a run, the unit of comparison across policies and seeds
// (orrery compare) and against a baseline (orrery bench).
type Metric struct {
	// Name is stable and dotted (nodes.in-use, traffic.default/web.failed).
	Name string `json:"name"`
	// Unit is what Value counts ("nodes", "requests", "s", "ratio").
	Unit   string  `json:"unit"`
	Value  float64 `json:"value"`
	Better Better  `json:"better,omitempty"`
}

// Metrics returns a run's scalar metrics, sorted by name.
func Metrics(res *Result) []Metric {
	out := []Metric{
		{Name: "nodes.in-use", Unit: "nodes", Value: float64(res.NodesInUse), Better: Lower},
		{Name: "assertions.failed", Unit: "assertions", Value: float64(res.Failed()), Better: Lower},
	}
	for _, t := range res.Traffic {
		out = append(out,
			Metric{Name: "traffic." + t.Service + ".requests", Unit: "requests", Value: float64(t.Requests)},
			Metric{Name: "traffic." + t.Service + ".failed", Unit: "requests", Value: float64(t.Failed), Better: Lower},
			Metric{Name: "traffic." + t.Service + ".availability", Unit: "ratio", Value: t.Availability, Better: Higher})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
