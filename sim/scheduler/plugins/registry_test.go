package plugins_test

import (
	"testing"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// TestInTreeCoversDefaults: every plugin of the default configuration is registered, so a
// default profile can always be built.
func TestInTreeCoversDefaults(t *testing.T) {
	reg := plugins.InTree()
	for _, name := range schedconfig.InTreePlugins() {
		if _, ok := reg[name]; !ok {
			t.Errorf("default plugin %s is not in the in-tree registry", name)
		}
	}
	all := plugins.All()
	for _, name := range []string{"Random", "FirstFit", "BestFit", "WorstFit", "DotProduct", "NodeResourcesFit"} {
		if _, ok := all[name]; !ok {
			t.Errorf("%s missing from All()", name)
		}
	}
}
