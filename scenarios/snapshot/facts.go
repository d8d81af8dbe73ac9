package snapshot

import (
	"gopkg.in/yaml.v3"
)

// facts are what a replay needs from an item's status, read from the YAML before the
// status is dropped (it is not decoded, so a newer cluster's status fields cannot fail
// the import).
type facts struct {
	// phase is a pod's status.phase.
	phase string
	// finished is the type of a Job's true Complete or Failed condition, "" if running.
	finished string
}

func factsOf(kind string, it *yaml.Node, end int) facts {
	_, status, _, _ := entry(it, "status", end)
	var f facts
	switch kind {
	case "Pod":
		f.phase = scalar(status, "phase")
	case "Job":
		_, conds, _, _ := entry(status, "conditions", 0)
		if conds == nil || conds.Kind != yaml.SequenceNode {
			break
		}
		for _, c := range conds.Content {
			if t := scalar(c, "type"); (t == "Complete" || t == "Failed") && scalar(c, "status") == "True" {
				f.finished = t
			}
		}
	}
	return f
}
