// Package policy names scheduler configurations for comparing placement policies: Kubernetes'
// default profile ("default"), NodeResourcesFit's scoring strategies ("most-allocated",
// "least-allocated", "requested-to-capacity-ratio") and the research policies of
// sim/scheduler/plugins/policies ("best-fit", "worst-fit", "first-fit", "dot-product",
// "random"), each a KubeSchedulerConfiguration embedded from builtin/, or any
// KubeSchedulerConfiguration file by its path.
package policy

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// Default is the policy name of Kubernetes' default profile.
const Default = "default"

//go:embed builtin/*.yaml
var builtin embed.FS

// Names returns the built-in policy names, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(builtin, "builtin")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Policy is a named scheduler configuration.
type Policy struct {
	// Name is what the user wrote: a built-in name or a file path.
	Name string
	// Source is where the configuration comes from: "builtin:NAME" or the file path.
	Source string
	data   []byte
}

// Resolve finds a policy: a built-in name first, then a KubeSchedulerConfiguration file; the
// configuration is parsed and validated once here, so that Config cannot fail later.
func Resolve(name string) (*Policy, error) {
	p := &Policy{Name: name}
	if data, err := fs.ReadFile(builtin, path.Join("builtin", name+".yaml")); err == nil && name != "" && !strings.ContainsAny(name, "/.") {
		p.Source, p.data = "builtin:"+name, data
	} else {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("policy %q is neither built in (%s) nor a readable file: %w", name, strings.Join(Names(), ", "), err)
		}
		p.Source, p.data = name, data
	}
	if _, err := p.Config(); err != nil {
		return nil, err
	}
	return p, nil
}

// New returns the policy of a KubeSchedulerConfiguration given as data, named name;
// source is where it comes from (a file, as messages name it). The data must parse.
func New(name, source string, data []byte) (*Policy, error) {
	p := &Policy{Name: name, Source: source, data: data}
	if _, err := p.Config(); err != nil {
		return nil, err
	}
	return p, nil
}

// Config parses the configuration anew (each run gets its own copy), defaulted and validated
// against Orrery's in-tree plugins and research policies.
func (p *Policy) Config() (*configv1.KubeSchedulerConfiguration, error) {
	return schedconfig.ParseFor(p.Source, p.data, schedconfig.PluginNames(plugins.All()))
}
