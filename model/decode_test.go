package model

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func mustDecode(t *testing.T, path string) []Object {
	t.Helper()
	objs, err := DecodeFile(path)
	if err != nil {
		t.Fatalf("DecodeFile(%s): %v", path, err)
	}
	return objs
}

func TestDecodeDeployment(t *testing.T) {
	objs := mustDecode(t, "testdata/deployment.yaml")
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
	o := objs[0]
	d, ok := o.Obj.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("got %T, want *appsv1.Deployment", o.Obj)
	}
	if o.Source != (Source{File: "testdata/deployment.yaml", Doc: 1, Line: 2}) {
		t.Errorf("source = %+v", o.Source)
	}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" || d.Name != "web" || d.Namespace != "shop" {
		t.Errorf("type/object meta = %+v %+v", d.TypeMeta, d.ObjectMeta)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d", *d.Spec.Replicas)
	}
	if got := *d.Spec.Strategy.RollingUpdate.MaxSurge; got != intstr.FromInt32(1) {
		t.Errorf("maxSurge = %v", got)
	}
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("512Mi")) != 0 {
		t.Errorf("memory limit = %s", q.String())
	}
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.MilliValue() != 250 {
		t.Errorf("cpu request = %s", q.String())
	}
	if c.LivenessProbe.PeriodSeconds != 15 || c.LivenessProbe.HTTPGet.Port != intstr.FromString("http") {
		t.Errorf("liveness probe = %+v", c.LivenessProbe)
	}
	if c.ReadinessProbe.TCPSocket.Port != intstr.FromInt32(8080) {
		t.Errorf("readiness probe = %+v", c.ReadinessProbe)
	}
	tol := spec.Tolerations[1]
	if tol.Key != "node.kubernetes.io/unreachable" || tol.Operator != corev1.TolerationOpExists || tol.Effect != corev1.TaintEffectNoExecute || *tol.TolerationSeconds != 60 {
		t.Errorf("toleration = %+v", tol)
	}
	req := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if req.Key != "topology.kubernetes.io/zone" || strings.Join(req.Values, ",") != "z1,z2" {
		t.Errorf("node affinity = %+v", req)
	}
	if spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight != 100 {
		t.Errorf("pod anti-affinity = %+v", spec.Affinity.PodAntiAffinity)
	}
	if c.Env[1].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("env = %+v", c.Env)
	}
	if spec.Volumes[0].ConfigMap.Name != "web-config" || spec.Volumes[1].EmptyDir.SizeLimit.String() != "1Gi" {
		t.Errorf("volumes = %+v", spec.Volumes)
	}
	if d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Errorf("annotations = %v", d.Annotations)
	}
	for path, want := range map[string]int{
		"":                                       2,
		"spec.replicas":                          13,
		"spec.template.spec.containers[0]":       54,
		"spec.template.spec.containers[0].image": 55,
		"spec.template.spec.containers[0].resources.limits[cpu]":  71,
		"spec.template.spec.containers[0].resources.limits.nope":  70,
		"metadata.annotations[deployment.kubernetes.io/revision]": 11,
		"spec.template.spec.tolerations[9]":                       44,
	} {
		if got := o.LineOf(path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestDecodeMultiDocument(t *testing.T) {
	objs := mustDecode(t, "testdata/multi.yaml")
	want := []struct {
		kind string
		doc  int
		line int
	}{{"ConfigMap", 1, 3}, {"Secret", 2, 16}, {"Service", 3, 27}, {"DaemonSet", 4, 40}, {"Job", 5, 60}}
	if len(objs) != len(want) {
		t.Fatalf("got %d objects, want %d", len(objs), len(want))
	}
	for i, w := range want {
		o := objs[i]
		if o.Kind.GVK.Kind != w.kind || o.Source.Doc != w.doc || o.Source.Line != w.line || o.Source.Item != 0 {
			t.Errorf("object %d: %s %+v, want %s doc %d line %d", i, o.Kind.GVK.Kind, o.Source, w.kind, w.doc, w.line)
		}
	}
	cm := objs[0].Obj.(*corev1.ConfigMap)
	if !strings.Contains(cm.Data["nginx.conf"], "listen 8080;") || cm.Data["mode"] != "production" {
		t.Errorf("configmap data = %q", cm.Data)
	}
	sec := objs[1].Obj.(*corev1.Secret)
	if string(sec.Data["password"]) != "password" || sec.StringData["user"] != "admin" || sec.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret = %+v", sec)
	}
	svc := objs[2].Obj.(*corev1.Service)
	if svc.Spec.Ports[0].TargetPort != intstr.FromString("http") || svc.Spec.Selector["app.kubernetes.io/name"] != "web" {
		t.Errorf("service = %+v", svc.Spec)
	}
	ds := objs[3].Obj.(*appsv1.DaemonSet)
	if ds.Spec.Template.Spec.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Errorf("daemonset tolerations = %+v", ds.Spec.Template.Spec.Tolerations)
	}
	job := objs[4].Obj.(*batchv1.Job)
	if *job.Spec.BackoffLimit != 2 || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job = %+v", job.Spec)
	}
	if v := job.Spec.Template.Spec.Tolerations[0].Value; v != "true" {
		t.Errorf("quoted toleration value = %q", v)
	}
	if err := Check(objs); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestDecodeList(t *testing.T) {
	objs := mustDecode(t, "testdata/rbac.yaml")
	if len(objs) != 4 {
		t.Fatalf("got %d objects, want 4", len(objs))
	}
	for i, o := range objs {
		if o.Source.Doc != 1 || o.Source.Item != i+1 {
			t.Errorf("object %d source = %+v", i, o.Source)
		}
	}
	if objs[1].Source.Line != 13 {
		t.Errorf("RoleBinding line = %d, want 13", objs[1].Source.Line)
	}
	rb := objs[1].Obj.(*rbacv1.RoleBinding)
	if rb.RoleRef.Name != "pod-reader" || rb.Subjects[1].Kind != "ServiceAccount" {
		t.Errorf("rolebinding = %+v", rb)
	}
	cr := objs[2].Obj.(*rbacv1.ClusterRole)
	if cr.Rules[1].NonResourceURLs[0] != "/healthz" {
		t.Errorf("clusterrole = %+v", cr.Rules)
	}
	if err := Check(objs); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestDecodeClusterObjects(t *testing.T) {
	objs := mustDecode(t, "testdata/cluster.yaml")
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.Kind.GVK.Kind)
		if o.Meta() == nil || o.Meta().GetName() == "" {
			t.Errorf("%s has no name", o.Kind.GVK.Kind)
		}
	}
	want := "Namespace,Node,PriorityClass,PodDisruptionBudget,HorizontalPodAutoscaler,Lease,EndpointSlice,Pod"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("kinds = %s, want %s", got, want)
	}
	node := objs[1].Obj.(*corev1.Node)
	if q := node.Status.Capacity[corev1.ResourcePods]; q.Value() != 110 {
		t.Errorf("node pods = %s", q.String())
	}
	if err := Check(objs); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestDecodeBad runs every file in testdata/bad through Decode and Check and asserts the
// exact location and a message substring of the first problem, and the problem count.
func TestDecodeBad(t *testing.T) {
	tests := []struct {
		file   string
		errors int
		doc    int
		line   int
		kind   string
		field  string
		detail string
		objs   int
	}{
		{"malformed.yaml", 1, 2, 10, "", "", "yaml: mapping values are not allowed in this context", 2},
		{"unknown-kind.yaml", 1, 1, 2, "Deploymnt", "kind", `no matches for kind "Deploymnt" in version "apps/v1"`, 0},
		{"unknown-field.yaml", 2, 2, 11, "Deployment", "spec.replicass", `unknown field "spec.replicass"`, 1},
		{"bad-quantity.yaml", 1, 1, 17, "Deployment", "spec.template.spec.containers[0].resources.limits[cpu]", `Invalid value: "2x": quantities must match the regular expression`, 0},
		{"string-for-int.yaml", 1, 1, 6, "Deployment", "spec.replicas", "expected integer, got string", 0},
		{"number-label.yaml", 1, 1, 6, "ConfigMap", "metadata.labels[version]", "expected string, got number", 0},
		{"missing-kind.yaml", 1, 1, 1, "", "kind", "Object 'Kind' is missing", 0},
		{"duplicate-key.yaml", 1, 1, 5, "ConfigMap", "metadata.name", `duplicate field "metadata.name"`, 0},
		{"selector-mismatch.yaml", 1, 1, 11, "Deployment", "spec.template.metadata.labels", "`selector` does not match template `labels`", 1},
		{"requests-over-limits.yaml", 1, 1, 10, "Pod", "spec.containers[0].resources.requests", `Invalid value: "2": must be less than or equal to cpu limit of 1`, 1},
		{"job-restart.yaml", 1, 1, 8, "Job", "spec.template.spec.restartPolicy", `Unsupported value: "Always": supported values: "OnFailure", "Never"`, 1},
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("testdata/bad has %d files, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := "testdata/bad/" + tt.file
			objs, err := DecodeFile(path)
			if len(objs) != tt.objs {
				t.Errorf("decoded %d objects, want %d", len(objs), tt.objs)
			}
			if err == nil {
				err = Check(objs)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error = %v (%T), want ErrorList", err, err)
			}
			if len(list) != tt.errors {
				t.Errorf("got %d errors, want %d:\n%v", len(list), tt.errors, list)
			}
			e := list[0]
			if e.File != path || e.Doc != tt.doc || e.Line != tt.line || e.Kind != tt.kind || e.Field != tt.field || !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("got %+v\nwant file %s doc %d line %d kind %q field %q detail containing %q", *e, path, tt.doc, tt.line, tt.kind, tt.field, tt.detail)
			}
			if !strings.HasPrefix(list.Error(), path+": document ") {
				t.Errorf("message %q does not start with the file and document", list.Error())
			}
		})
	}
}

func TestFieldErrorString(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "deploy.yaml", Doc: 2, Line: 14, Kind: "Deployment", Name: "web", Field: "spec.replicas", Detail: "Invalid value: -1: must be greater than or equal to 0"},
			`deploy.yaml: document 2 (Deployment "web"), line 14: spec.replicas: Invalid value: -1: must be greater than or equal to 0`},
		{FieldError{File: "list.yaml", Doc: 1, Item: 3, Line: 40, Kind: "Role", Name: "r", Field: "rules[0].verbs", Detail: "Required value"},
			`list.yaml: document 1, item 3 (Role "r"), line 40: rules[0].verbs: Required value`},
		{FieldError{File: "x.yaml", Doc: 3, Line: 7, Detail: "yaml: mapping values are not allowed in this context"},
			`x.yaml: document 3, line 7: yaml: mapping values are not allowed in this context`},
		{FieldError{Detail: "boom"}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		objs   int
		errSub string
	}{
		{"empty file", "", 0, ""},
		{"only comments and separators", "# c\n---\n---\n# d\n", 0, ""},
		{"leading separator", "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", 1, ""},
		{"document end marker", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n...\n", 1, ""},
		{"scalar document", "hello\n", 0, "expected object, got string"},
		{"sequence document", "- a\n", 0, "expected object, got array"},
		{"list items not array", "apiVersion: v1\nkind: List\nitems: {}\n", 0, "expected array, got object"},
		{"typed list", "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n", 1, ""},
		{"anchors and merge keys", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: &l {x: y}\n  annotations:\n    <<: *l\n    z: w\n", 1, ""},
		{"alias cycle", "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\n  labels: *m\n", 0, ""},
		{"null fields", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: null}\nspec:\n  containers: ~\n", 1, ""},
		{"bad base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: '!!!'}\n", 0, "illegal base64"},
		{"int overflow", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 99999999999}\n", 0, "out of range for int32"},
		{"float for int", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1.5}\n", 0, "expected integer, got number"},
		{"bool as string", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: 'true'}\n", 0, "expected boolean, got string"},
		{"object for string", "apiVersion: v1\nkind: Pod\nmetadata: {name: {a: b}}\n", 0, "expected string, got object"},
		{"numeric kind", "apiVersion: v1\nkind: 5\n", 0, "expected string, got number"},
		{"missing apiVersion", "kind: Pod\nmetadata: {name: p}\n", 0, "Object 'apiVersion' is missing"},
		{"windows line endings", "apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: b}\r\n", 2, ""},
		{"timestamp annotation", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {d: 2024-01-01}}\n", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode("in.yaml", []byte(tt.in))
			if len(objs) != tt.objs {
				t.Errorf("got %d objects, want %d (err %v)", len(objs), tt.objs, err)
			}
			switch {
			case tt.errSub == "" && err != nil && tt.name != "alias cycle":
				t.Errorf("unexpected error: %v", err)
			case tt.errSub != "" && (err == nil || !strings.Contains(err.Error(), tt.errSub)):
				t.Errorf("error = %v, want it to contain %q", err, tt.errSub)
			}
		})
	}
}

func TestDecodeCollectsAllErrors(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, bogus: 1}\nspec: {nodeName: 3, foo: bar}\n---\napiVersion: v1\nkind: Nope\n"
	_, err := Decode("f.yaml", []byte(in))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 4 {
		t.Fatalf("got %v, want 4 errors", err)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Doc > list[i].Doc || list[i-1].Doc == list[i].Doc && list[i-1].Line > list[i].Line {
			t.Errorf("errors not sorted: %v", list)
		}
	}
}

func BenchmarkDecodeDeployment(b *testing.B) {
	data, err := os.ReadFile("testdata/deployment.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("deployment.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, p := range append(seeds, bad...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("fuzz.yaml", data)
		if err != nil {
			_ = err.Error()
		}
		for _, o := range objs {
			_ = o.LineOf("spec.template.spec.containers[0].image")
		}
		_ = Check(objs)
	})
}
