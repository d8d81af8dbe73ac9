package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/model"
)

const fixture = "testdata/cluster.yaml"

func load(t *testing.T, opts Options) *Snapshot {
	t.Helper()
	s, err := ReadFile(fixture, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find[T any](t *testing.T, s *Snapshot, kind, ns, name string) T {
	t.Helper()
	for _, o := range s.Objects {
		if m := o.Meta(); o.Kind.GVK.Kind == kind && m.GetNamespace() == ns && m.GetName() == name {
			return o.Obj.(T)
		}
	}
	t.Fatalf("no %s %s/%s imported", kind, ns, name)
	var zero T
	return zero
}

func lines[T fmt.Stringer](xs []T) string {
	var out []string
	for _, x := range xs {
		out = append(out, x.String())
	}
	return strings.Join(out, "\n")
}

// TestFixture pins what the hand-written kubectl output imports to.
func TestFixture(t *testing.T) {
	s := load(t, Options{})
	var objs []string
	for _, o := range s.Objects {
		m := o.Meta()
		objs = append(objs, fmt.Sprintf("%s %s/%s item %d line %d", o.Kind.GVK.Kind, m.GetNamespace(), m.GetName(), o.Source.Item, o.Source.Line))
	}
	wantObjs := []string{
		"Namespace /shop item 0 line 0",
		"PriorityClass /shop-critical item 26 line 2149",
		"ConfigMap default/kube-root-ca.crt item 20 line 1977",
		"ConfigMap kube-system/kube-root-ca.crt item 21 line 1996",
		"ConfigMap shop/kube-root-ca.crt item 22 line 2015",
		"ConfigMap shop/web-config item 23 line 2034",
		"Service shop/cache item 18 line 1920",
		"Service shop/web item 19 line 1947",
		"PodDisruptionBudget shop/web item 25 line 2122",
		"Deployment shop/web item 12 line 1530",
		"DaemonSet kube-system/node-agent item 14 line 1684",
		"Pod default/debug item 4 line 336",
		"Pod shop/cache-0 item 8 line 953",
	}
	if got, want := strings.Join(objs, "\n"), strings.Join(wantObjs, "\n"); got != want {
		t.Errorf("objects\n%s\nwant\n%s", got, want)
	}
	wantWarnings := strings.Join([]string{
		"testdata/cluster.yaml:953: Pod shop/cache-0: kept without its owner: StatefulSet cache is not in the snapshot or not simulated by Orrery, so nothing recreates it",
		"testdata/cluster.yaml:1623: StatefulSet shop/cache: skipped: Orrery does not simulate apps/v1 StatefulSet",
		"testdata/cluster.yaml:2054: Job shop/db-migrate: skipped: the Job has finished (Complete); replaying it would run it again",
	}, "\n")
	if got := lines(s.Warnings); got != wantWarnings {
		t.Errorf("warnings\n%s\nwant\n%s", got, wantWarnings)
	}
	wantDropped := strings.Join([]string{
		"testdata/cluster.yaml:458: Pod kube-system/node-agent-2kq8d: dropped: its DaemonSet node-agent recreates it",
		"testdata/cluster.yaml:623: Pod kube-system/node-agent-7wz4n: dropped: its DaemonSet node-agent recreates it",
		"testdata/cluster.yaml:788: Pod kube-system/node-agent-x9c5r: dropped: its DaemonSet node-agent recreates it",
		"testdata/cluster.yaml:1092: Pod shop/db-migrate-8v6tq: dropped: it has terminated (Succeeded) and belongs to Job db-migrate",
		"testdata/cluster.yaml:1230: Pod shop/web-5d8f7c9b6-4xk2p: dropped: its ReplicaSet web-5d8f7c9b6 recreates it",
		"testdata/cluster.yaml:1380: Pod shop/web-5d8f7c9b6-q7m9z: dropped: its ReplicaSet web-5d8f7c9b6 recreates it",
		"testdata/cluster.yaml:1747: ReplicaSet shop/web-5d8f7c9b6: dropped: its Deployment web recreates its current ReplicaSet (older revisions are not replayed)",
		"testdata/cluster.yaml:1832: ReplicaSet shop/web-6c4b8d7f9: dropped: its Deployment web recreates its current ReplicaSet (older revisions are not replayed)",
		"testdata/cluster.yaml:1892: Service default/kubernetes: dropped: the API server's own Service",
		"testdata/cluster.yaml:2160: PriorityClass system-cluster-critical: dropped: the API server creates the system priority classes",
		"testdata/cluster.yaml:2172: PriorityClass system-node-critical: dropped: the API server creates the system priority classes",
	}, "\n")
	if got := lines(s.Dropped); got != wantDropped {
		t.Errorf("dropped\n%s\nwant\n%s", got, wantDropped)
	}
	// What is kept validates as the API server would on create.
	if err := model.Check(s.Objects); err != nil {
		t.Errorf("imported objects do not validate: %v", err)
	}
	for _, o := range s.Objects {
		m := o.Meta()
		if m.GetUID() != "" || m.GetResourceVersion() != "" || !m.GetCreationTimestamp().Time.IsZero() || m.GetGeneration() != 0 || m.GetManagedFields() != nil || m.GetOwnerReferences() != nil {
			t.Errorf("%s %s/%s keeps server-owned metadata: %+v", o.Kind.GVK.Kind, m.GetNamespace(), m.GetName(), m)
		}
	}
}

func TestFixtureNodes(t *testing.T) {
	s := load(t, Options{})
	var got []string
	for _, n := range s.Nodes {
		var conds []string
		for _, c := range n.Status.Conditions {
			conds = append(conds, string(c.Type)+"="+string(c.Status))
		}
		var taints []string
		for _, tn := range n.Spec.Taints {
			taints = append(taints, tn.ToString())
		}
		got = append(got, fmt.Sprintf("%s zone=%s cap=%s/%s alloc=%s/%s/%s unschedulable=%v taints=%v conds=%s images=%d meta=%q/%q",
			n.Name, n.Labels[corev1.LabelTopologyZone], n.Status.Capacity.Cpu(), n.Status.Capacity.Memory(),
			n.Status.Allocatable.Cpu(), n.Status.Allocatable.Memory(), n.Status.Allocatable.Pods(),
			n.Spec.Unschedulable, taints, strings.Join(conds, ","), len(n.Status.Images), n.UID, n.ResourceVersion))
	}
	want := []string{
		`ip-10-0-1-17.eu-west-1.compute.internal zone=eu-west-1a cap=4/16305240Ki alloc=3920m/15214680Ki/110 unschedulable=false taints=[] conds=MemoryPressure=False,DiskPressure=False,PIDPressure=False,Ready=True images=3 meta=""/""`,
		`ip-10-0-1-42.eu-west-1.compute.internal zone=eu-west-1a cap=4/16305240Ki alloc=3920m/15214680Ki/110 unschedulable=true taints=[node.kubernetes.io/unschedulable:NoSchedule] conds=MemoryPressure=False,DiskPressure=False,PIDPressure=False,Ready=True images=3 meta=""/""`,
		`ip-10-0-2-8.eu-west-1.compute.internal zone=eu-west-1b cap=4/16305240Ki alloc=3920m/15214680Ki/110 unschedulable=false taints=[dedicated=batch:NoSchedule] conds=MemoryPressure=False,DiskPressure=False,PIDPressure=False,Ready=True images=3 meta=""/""`,
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("nodes\n%s\nwant\n%s", g, w)
	}
}

func TestFixtureCleaning(t *testing.T) {
	s := load(t, Options{})
	debug := find[*corev1.Pod](t, s, "Pod", "default", "debug")
	if debug.Spec.NodeName != "" || debug.Spec.Priority != nil || debug.Spec.PreemptionPolicy != nil || len(debug.Spec.Volumes) != 0 || len(debug.Spec.Containers[0].VolumeMounts) != 0 || debug.Status.Phase != "" {
		t.Errorf("bare pod not cleaned: node %q priority %v volumes %v mounts %v phase %q", debug.Spec.NodeName, debug.Spec.Priority, debug.Spec.Volumes, debug.Spec.Containers[0].VolumeMounts, debug.Status.Phase)
	}
	if got := debug.Spec.Containers[0].Resources.Requests.Cpu().String(); got != "50m" {
		t.Errorf("bare pod requests cpu %s", got)
	}
	web := find[*appsv1.Deployment](t, s, "Deployment", "shop", "web")
	if _, ok := web.Annotations["deployment.kubernetes.io/revision"]; ok || web.Annotations["kubectl.kubernetes.io/last-applied-configuration"] == "" || web.Status.Replicas != 0 || *web.Spec.Replicas != 2 {
		t.Errorf("deployment annotations %v, status %+v", web.Annotations, web.Status)
	}
	if c := web.Spec.Template.Spec.TopologySpreadConstraints; len(c) != 1 || c[0].TopologyKey != corev1.LabelTopologyZone {
		t.Errorf("deployment spec lost its spread constraint: %+v", c)
	}
	ds := find[*appsv1.DaemonSet](t, s, "DaemonSet", "kube-system", "node-agent")
	if len(ds.Annotations) != 0 || ds.Status.DesiredNumberScheduled != 0 {
		t.Errorf("daemonset annotations %v status %+v", ds.Annotations, ds.Status)
	}
	svc := find[*corev1.Service](t, s, "Service", "shop", "web")
	if svc.Spec.ClusterIP != "10.103.44.211" {
		t.Errorf("service clusterIP %q, want the recorded one", svc.Spec.ClusterIP)
	}
	if headless := find[*corev1.Service](t, s, "Service", "shop", "cache"); headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("headless service clusterIP %q", headless.Spec.ClusterIP)
	}
	if cm := find[*corev1.ConfigMap](t, s, "ConfigMap", "shop", "web-config"); cm.Data["greeting"] != "hello from the snapshot" {
		t.Errorf("configmap data %v", cm.Data)
	}
}

func TestKeepBindings(t *testing.T) {
	s := load(t, Options{KeepBindings: true})
	if n := find[*corev1.Pod](t, s, "Pod", "default", "debug").Spec.NodeName; n != "ip-10-0-1-17.eu-west-1.compute.internal" {
		t.Errorf("nodeName %q, want kept", n)
	}
}

func TestSmallSnapshots(t *testing.T) {
	const job = `apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata:
    name: nightly
    namespace: ops
  spec:
    schedule: "0 3 * * *"
- apiVersion: batch/v1
  kind: Job
  metadata:
    labels:
      batch.kubernetes.io/controller-uid: 11111111-2222-3333-4444-555555555555
      controller-uid: 11111111-2222-3333-4444-555555555555
      job-name: nightly-29012345
    name: nightly-29012345
    namespace: ops
    ownerReferences:
    - apiVersion: batch/v1
      controller: true
      kind: CronJob
      name: nightly
      uid: 99999999-2222-3333-4444-555555555555
    uid: 11111111-2222-3333-4444-555555555555
  spec:
    selector:
      matchLabels:
        batch.kubernetes.io/controller-uid: 11111111-2222-3333-4444-555555555555
    template:
      metadata:
        labels:
          batch.kubernetes.io/controller-uid: 11111111-2222-3333-4444-555555555555
          controller-uid: 11111111-2222-3333-4444-555555555555
          job-name: nightly-29012345
      spec:
        containers:
        - image: busybox:1.36
          name: run
        restartPolicy: Never
  status:
    active: 1
    someFieldFromANewerCluster: true
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubernetes.io/config.hash: 0c1d2e3f
      kubernetes.io/config.mirror: 0c1d2e3f
      kubernetes.io/config.source: file
    name: etcd-node-1
    namespace: kube-system
    ownerReferences:
    - apiVersion: v1
      controller: true
      kind: Node
      name: node-1
      uid: 12121212-2222-3333-4444-555555555555
  spec:
    containers:
    - image: registry.k8s.io/etcd:3.6.4-0
      name: etcd
    nodeName: node-1
  status:
    phase: Running
- apiVersion: v1
  kind: Pod
  metadata:
    deletionTimestamp: "2025-11-20T14:00:00Z"
    name: leaving
    namespace: default
  spec:
    containers:
    - image: busybox:1.36
      name: c
`
	s, err := Read("small.yaml", []byte(job), Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := find[*batchv1.Job](t, s, "Job", "ops", "nightly-29012345")
	if j.Spec.Selector != nil || j.Labels["controller-uid"] != "" || j.Spec.Template.Labels[batchv1.ControllerUidLabel] != "" || j.Labels["job-name"] != "nightly-29012345" || j.OwnerReferences != nil {
		t.Errorf("job not cleaned: selector %v labels %v template labels %v", j.Spec.Selector, j.Labels, j.Spec.Template.Labels)
	}
	etcd := find[*corev1.Pod](t, s, "Pod", "kube-system", "etcd-node-1")
	if etcd.Spec.NodeName != "node-1" || len(etcd.Annotations) != 0 {
		t.Errorf("mirror pod: node %q annotations %v", etcd.Spec.NodeName, etcd.Annotations)
	}
	want := strings.Join([]string{
		"small.yaml:4: CronJob ops/nightly: skipped: Orrery does not simulate batch/v1 CronJob",
		"small.yaml:11: Job ops/nightly-29012345: kept without its owner: CronJob nightly is not in the snapshot or not simulated by Orrery, so nothing recreates it",
		"small.yaml:45: Pod kube-system/etcd-node-1: kept without its owner: Node node-1 is not in the snapshot or not simulated by Orrery, so nothing recreates it",
		"small.yaml:45: Pod kube-system/etcd-node-1: static pod: kept bound to node-1 as a regular pod",
		"small.yaml:67: Pod default/leaving: skipped: it was being deleted",
	}, "\n")
	if got := lines(s.Warnings); got != want {
		t.Errorf("warnings\n%s\nwant\n%s", got, want)
	}
	var names []string
	for _, o := range s.Objects {
		names = append(names, o.Kind.GVK.Kind+" "+o.Meta().GetName())
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "Job nightly-29012345,Namespace ops,Pod etcd-node-1" {
		t.Errorf("objects %s", got)
	}
}

func TestMultiDocument(t *testing.T) {
	const docs = `apiVersion: v1
kind: Node
metadata:
  name: n1
  uid: 0f0f0f0f-0000-0000-0000-000000000001
status:
  capacity:
    cpu: "8"
    memory: 32Gi
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team-a
data:
  a: "1"
`
	s, err := Read("docs.yaml", []byte(docs), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 1 || s.Nodes[0].UID != "" || s.Nodes[0].Status.Capacity.Cpu().String() != "8" {
		t.Errorf("nodes %+v", s.Nodes)
	}
	if len(s.Objects) != 2 || s.Objects[0].Kind.GVK.Kind != "Namespace" || s.Objects[1].Source.Line != 16 || s.Objects[1].Source.Doc != 3 {
		t.Errorf("objects %+v", s.Objects)
	}
	if len(s.Warnings) != 1 || s.Warnings[0].Line != 11 {
		t.Errorf("warnings %v", s.Warnings)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       string
	}{{
		name: "bad field after a skipped item keeps the file's item number and line",
		data: `apiVersion: v1
items:
- apiVersion: apps/v1
  kind: StatefulSet
  metadata:
    name: db
  spec:
    replicas: 1
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    replicas: two
kind: List
metadata:
  resourceVersion: ""
`,
		want: `snap.yaml: document 1, item 2 (Deployment "web"), line 14: spec.replicas: expected integer, got string`,
	}, {
		name: "flow style",
		data: `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}]}`,
		want: "snap.yaml: line 1: the items are in flow style (JSON): write the snapshot with kubectl get -o yaml",
	}, {
		name: "syntax",
		data: "apiVersion: v1\nitems:\n- kind: Node\n  metadata: [\n",
		want: "snap.yaml: yaml: line 4: did not find expected node content",
	}, {
		name: "syntax in a later document",
		data: "apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n---\nkind: [\n",
		want: "snap.yaml: yaml: line 6: did not find expected node content",
	}, {
		name: "bad field in a later document after a skipped one",
		data: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: 5\n",
		want: `snap.yaml: document 2 (ConfigMap "c"), line 10: data: expected object, got number`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read("snap.yaml", []byte(tt.data), Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n %v\nwant\n %s", err, tt.want)
			}
		})
	}
	_, err := ReadFile("testdata/absent.yaml", Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
