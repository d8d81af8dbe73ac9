package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// CompareSpec is what `orrery compare` runs on the scenario when it is given no --policy:
// an experiment that the scenario names, such as openb-fgd's six policies.
type CompareSpec struct {
	// Policies are the scheduler configurations to compare; the first is the baseline
	// of the paired differences.
	Policies []ComparePolicy `yaml:"policies"`
	// Metrics, if any, are the metrics shown (names or dotted prefixes, as --metric).
	Metrics []string `yaml:"metrics"`
}

// ComparePolicy is one policy of spec.compare.
type ComparePolicy struct {
	// Name is how tables and plots label the policy.
	Name string `yaml:"name"`
	// Scheduler is its KubeSchedulerConfiguration file, relative to the scenario file.
	Scheduler string `yaml:"scheduler"`
	// Source is the file as messages name it, and Data its contents (set on loading).
	Source string `yaml:"-"`
	Data   []byte `yaml:"-"`
}

// loadCompare reads and checks the configuration files of spec.compare.
func (s *Scenario) loadCompare(fsys fs.FS, name, display string) model.ErrorList {
	if s.Spec.Compare == nil {
		return nil
	}
	var errs model.ErrorList
	bad := func(field, detail string) {
		errs = append(errs, &model.FieldError{File: displayName(display, name), Doc: 1, Line: s.lineOf(field), Field: field, Detail: detail})
	}
	seen := map[string]bool{}
	for i := range s.Spec.Compare.Policies {
		p := &s.Spec.Compare.Policies[i]
		field := fmt.Sprintf("spec.compare.policies[%d]", i)
		switch {
		case p.Name == "":
			bad(field+".name", "a name is required")
		case seen[p.Name]:
			bad(field+".name", fmt.Sprintf("%q is named twice", p.Name))
		}
		seen[p.Name] = true
		if p.Scheduler == "" {
			bad(field+".scheduler", "a KubeSchedulerConfiguration file is required")
			continue
		}
		file := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(p.Scheduler)))
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			bad(field+".scheduler", fmt.Sprintf("cannot read %q: %v", p.Scheduler, unwrapPathError(err)))
			continue
		}
		p.Source, p.Data = displayName(display, file), data
		if _, err := schedconfig.ParseFor(p.Source, data, schedconfig.PluginNames(plugins.All())); err != nil {
			var el model.ErrorList
			if errors.As(err, &el) {
				errs = append(errs, el...)
				continue
			}
			bad(field+".scheduler", err.Error())
		}
	}
	return errs
}
