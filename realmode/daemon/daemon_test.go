package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigKeepsEverythingInItsFolder(t *testing.T) {
	cfg := Config("/tmp/x")
	for _, want := range []string{`root = "/tmp/x/root"`, `state = "/tmp/x/state"`, `address = "/tmp/x/containerd.sock"`, `path = "/tmp/x/opt"`, `disabled_plugins = ["io.containerd.grpc.v1.cri"]`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
}

func TestMissingBinariesNameTheirPackages(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := CheckBinaries()
	if err == nil {
		t.Fatal("no error with an empty PATH")
	}
	for _, want := range []string{"containerd, containerd-shim-runc-v2, runc", "apt-get install --no-install-recommends containerd runc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestConnectToNoSocketFailsAtOnce(t *testing.T) {
	start := time.Now()
	_, err := Connect(context.Background(), filepath.Join(t.TempDir(), "none.sock"))
	if err == nil || !strings.Contains(err.Error(), "is containerd running there?") {
		t.Fatalf("Connect = %v, want an error asking whether containerd runs", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Connect to a missing socket took %v", d)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b\134c`); got != `/a b\c` {
		t.Fatalf("unescapeMount = %q", got)
	}
}

func TestConnectToADeadSocketSaysItDoesNotAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dead.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Connect(context.Background(), sock)
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Connect = %v, want an error saying containerd does not answer", err)
	}
}
