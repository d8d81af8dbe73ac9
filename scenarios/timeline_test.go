package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScaleSetImageDelete: `kubectl scale`, `set image` and `delete` on the timeline act
// at their times through the API server, as the admin, and the controllers follow.
func TestScaleSetImageDelete(t *testing.T) {
	dir := t.TempDir()
	web := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: web, image: 'nginx:1.27', resources: {requests: {cpu: 100m, memory: 64Mi}}}\n"
	scenario := `apiVersion: orrery.dev/v1alpha1
kind: Scenario
metadata: {name: ops}
spec:
  duration: 6m
  cluster:
    nodes: [{name: n1, capacity: {cpu: '8', memory: 16Gi}}]
  manifests: [web.yaml]
  timeline:
  - {at: 1m, scale: {resource: deployments, name: default/web, replicas: 5}}
  - {at: 2m, setImage: {resource: deployments, name: web, container: web, image: 'nginx:1.28'}}
  - {at: 4m, delete: {resource: deployments, name: default/web}}
  assertions:
  - {name: scaled, expect: deployment default/web available == 5, after: 1m, within: 30s}
  - {name: rolled-out, expect: deployment default/web updated == 5, after: 2m, within: 1m}
  - {name: deleted, expect: pods total == 0, after: 4m, within: 1m}
`
	os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(web), 0o644)
	f := filepath.Join(dir, "s.yaml")
	os.WriteFile(f, []byte(scenario), 0o644)
	s, err := LoadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range run.Failed() {
		t.Errorf("assertion %s failed at %v: %s", a.Name, a.At, a.Detail)
	}
	want := map[string]time.Duration{"Scaled": time.Minute, "ImageSet": 2 * time.Minute, "Deleted": 4 * time.Minute}
	for _, e := range run.Actions {
		if at, ok := want[e.Reason]; ok && e.Actor == "orrery" {
			if e.At != at {
				t.Errorf("%s at %v, want %v", e.Reason, e.At, at)
			}
			delete(want, e.Reason)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing actions %v", want)
	}
	if _, err := run.Cluster.Admin.Get("deployments", "default", "web"); err == nil {
		t.Error("the Deployment is still there")
	}
}

func TestObjectEventErrors(t *testing.T) {
	head := "apiVersion: orrery.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1m\n  cluster:\n    nodes: [{name: a, capacity: {cpu: '1', memory: 1Gi}}]\n  timeline:\n"
	for _, tc := range []struct{ event, want string }{
		{"  - {at: 1s, scale: {resource: deployments, name: web}}\n", "spec.timeline[0].scale.replicas: Required value"},
		{"  - {at: 1s, scale: {resource: pods, name: web, replicas: 2}}\n", `spec.timeline[0].scale.resource: Unsupported value: "pods"`},
		{"  - {at: 1s, delete: {resource: deploymnets, name: web}}\n", `spec.timeline[0].delete.resource: Unsupported value: "deploymnets"`},
		{"  - {at: 1s, setImage: {resource: deployments, name: a/b/c, image: x}}\n", `spec.timeline[0].setImage.name: Invalid value: "a/b/c"`},
		{"  - {at: 1s, setImage: {resource: deployments, name: web, image: x}}\n", "spec.timeline[0].setImage.container: Required value"},
	} {
		_, err := Parse("s.yaml", []byte(head+tc.event))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", strings.TrimSpace(tc.event), err, tc.want)
		}
	}
}
