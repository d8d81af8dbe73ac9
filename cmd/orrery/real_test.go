package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealErrors: `orrery real` says clearly why it cannot run, before doing any work.
func TestRealErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	want := "is containerd running there?"
	if os.Geteuid() != 0 {
		want = "real mode needs root"
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"real"}, exitBadInput, "accepts 1 arg(s)"},
		{[]string{"real", "no-such-scenario"}, exitBadInput, `scenario "no-such-scenario"`},
		{[]string{"real", "self-heal", "--containerd-address", sock}, exitFailed, want},
	} {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := execute(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("orrery %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("orrery %v took %v to fail", tt.args, d)
		}
	}
}
