package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module and Package locate the workload's source.
const (
	Module  = "github.com/orrery-sim/orrery"
	Package = Module + "/realmode/workload/cmd/orrery-workload"
)

// BinaryName is the workload binary's file name (beside the orrery binary, when built
// with `make build`).
const BinaryName = "orrery-workload"

// FindSource returns the root of Orrery's source tree at or above dir, or an error when
// dir is not inside it.
func FindSource(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module "+Module+"\n") {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%s is not inside Orrery's source tree (module %s): build the workload with `make build` or run from the source tree", dir, Module)
		}
		d = parent
	}
}

// Build compiles the workload program from the source tree at src into out: static
// (CGO_ENABLED=0), stripped, with reproducible paths.
func Build(ctx context.Context, src, out string) error {
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", out, Package)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w: %s", Package, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// goTool returns the go command: on PATH, else under $GOROOT, else "go" (whose failure
// to start then says so).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// Locate returns a workload binary to use: path when given, else one beside the running
// executable, else one built from the source tree around the working directory into dir.
func Locate(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("workload binary: %w", err)
		}
		return path, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), BinaryName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	src, err := FindSource(wd)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, BinaryName)
	if err := Build(ctx, src, out); err != nil {
		return "", err
	}
	return out, nil
}
