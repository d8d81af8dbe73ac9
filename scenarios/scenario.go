// Package scenarios reads Orrery scenarios — the cluster to build, the manifests to apply,
// the faults to inject and how long to run — and holds the built-in scenarios embedded in
// the binary. The schema (orrery.dev/v1alpha1, kind Scenario) is documented in README.md
// beside this file.
package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/controllers/nodeipam"
	"github.com/orrery-sim/orrery/sim/metricsserver"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins"
	"github.com/orrery-sim/orrery/sim/scheduler/schedconfig"
)

// APIVersion and Kind identify a scenario document.
const (
	APIVersion = "orrery.dev/v1alpha1"
	Kind       = "Scenario"
	// Default is the built-in scenario `orrery run` runs without an argument.
	Default = "node-failure"
)

//go:embed builtin
var builtin embed.FS

// Duration is a Go duration written as a string ("90s", "5m").
type Duration struct{ time.Duration }

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: invalid duration %q: want a non-negative Go duration such as 90s or 5m", n.Line, s)
	}
	d.Duration = v
	return nil
}

// Scenario is one scenario document.
type Scenario struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"metadata"`
	Spec Spec `yaml:"spec"`

	// File is where the scenario was read from; Objects are its decoded manifests.
	File    string         `yaml:"-"`
	Objects []model.Object `yaml:"-"`
	// SchedulerConfig is the decoded and defaulted scheduler configuration.
	SchedulerConfig *configv1.KubeSchedulerConfiguration `yaml:"-"`
	root            *yaml.Node
}

// Spec is what a scenario asks for.
type Spec struct {
	// Seed is the default seed (the --seed flag overrides it).
	Seed *uint64 `yaml:"seed"`
	// Duration is how long the run lasts in virtual time.
	Duration Duration `yaml:"duration"`
	Cluster  Cluster  `yaml:"cluster"`
	// Scheduler is a KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1),
	// relative to the scenario file; empty means Kubernetes' default profile.
	Scheduler string `yaml:"scheduler"`
	// Manifests are Kubernetes YAML files, relative to the scenario file, applied at 0s.
	Manifests []string `yaml:"manifests"`
	// Timeline lists timed events.
	Timeline []Event `yaml:"timeline"`
	// Load lists CPU demands on groups of pods over the run, as the metrics pipeline (and
	// so the HorizontalPodAutoscaler) sees them.
	Load []Load `yaml:"load"`
	// Traffic lists request streams to Services (see traffic.go); with any, every node
	// runs kube-proxy.
	Traffic []Traffic `yaml:"traffic"`
	// RandomFaults draws node (and zone) failures from the run's seed (see faults.go).
	RandomFaults *RandomFaults `yaml:"randomFaults"`
	// Assertions must hold for the run to pass (see assertions.go).
	Assertions []Assertion `yaml:"assertions"`
	// SampleInterval is how often assertions are checked and metrics sampled (default 5s).
	SampleInterval *Duration `yaml:"sampleInterval"`
	// Workloads are traces and synthetic generators whose pods arrive and depart over the
	// run (see workloads.go).
	Workloads []Workload `yaml:"workloads"`
	// Timings scale Kubernetes' timings down, e.g. for real mode (see timings.go).
	Timings *Timings `yaml:"timings"`
	// Compare is the experiment orrery compare runs when given no --policy (see
	// compare.go).
	Compare *CompareSpec `yaml:"compare"`
}

// Load is a total CPU demand, over time since the start, on the pods of a namespace that a
// label selector picks; the metrics server shares it evenly among those Running and Ready.
type Load struct {
	// Namespace defaults to "default".
	Namespace string `yaml:"namespace"`
	// Selector is the pods' labels (matchLabels).
	Selector map[string]string `yaml:"selector"`
	// CPU is the demand in CPU units, written as a usage curve of the orrery.dev/usage
	// annotation (a quantity, or constant, ramp, spikes, randomWalk or steps).
	CPU yaml.Node `yaml:"cpu"`
	// curve is CPU decoded.
	curve *model.Curve
}

// Cluster lists the nodes, singly or as pools.
type Cluster struct {
	Nodes     []NodeSpec `yaml:"nodes"`
	NodePools []NodePool `yaml:"nodePools"`
	// Snapshot is a `kubectl get ... -A -o yaml` file whose nodes join the cluster and
	// whose objects are applied at 0s (see workloads.go).
	Snapshot SnapshotFile `yaml:"snapshot"`
	// ClusterCIDR is kube-controller-manager's --cluster-cidr, which the node IPAM
	// controller cuts a /24 per node from (default 10.244.0.0/16: 256 nodes; a bigger
	// cluster needs a bigger range, as on a real one).
	ClusterCIDR string `yaml:"clusterCIDR"`
}

// NodeShape is what a node (or each node of a pool) is made of.
type NodeShape struct {
	// Capacity maps resource names to quantities; cpu and memory are required, pods
	// defaults to 110.
	Capacity map[string]string `yaml:"capacity"`
	// Reserved is what the kubelet keeps for the system (system-reserved plus
	// kube-reserved): allocatable is capacity less it.
	Reserved map[string]string `yaml:"reserved"`
	Labels   map[string]string `yaml:"labels"`
	Taints   []Taint           `yaml:"taints"`
	// Images are present on the node from the start (status.images): their pulls cost
	// nothing, and ImageLocality scores them.
	Images []Image `yaml:"images"`
	// Region is the node's topology.kubernetes.io/region.
	Region string `yaml:"region"`
}

// Image is a container image on a node, and its size (a quantity of bytes).
type Image struct {
	Name string `yaml:"name"`
	Size string `yaml:"size"`
}

// NodeSpec is one node.
type NodeSpec struct {
	Name      string `yaml:"name"`
	NodeShape `yaml:",inline"`
	// Zone is the node's topology.kubernetes.io/zone.
	Zone string `yaml:"zone"`
}

// Taint is a node taint, as in a Node's spec.taints.
type Taint struct {
	Key    string `yaml:"key"`
	Value  string `yaml:"value"`
	Effect string `yaml:"effect"`
}

// NodePool is count nodes named <name>-1 … <name>-<count>, spread over zones round-robin.
type NodePool struct {
	Name      string   `yaml:"name"`
	Count     int      `yaml:"count"`
	Zones     []string `yaml:"zones"`
	NodeShape `yaml:",inline"`
}

// Event is one timeline entry: a fault, manifests to apply, or a node joining or leaving.
type Event struct {
	At    Duration `yaml:"at"`
	Fault *Fault   `yaml:"fault"`
	// Apply is a manifest file, relative to the scenario file, applied at At.
	Apply string `yaml:"apply"`
	// AddNode is a node that joins the cluster at At (its kubelet starts and registers it).
	AddNode *NodeSpec `yaml:"addNode"`
	// RemoveNode is the name of a node that leaves the cluster at At: its kubelet stops and
	// its Node object is deleted.
	RemoveNode string `yaml:"removeNode"`
	// Cordon and Uncordon name a node to mark unschedulable or schedulable again, as
	// `kubectl cordon` and `kubectl uncordon` do.
	Cordon   string `yaml:"cordon"`
	Uncordon string `yaml:"uncordon"`
	// Drain is `kubectl drain`: cordon, then evict the node's pods through the Eviction API
	// (honouring PodDisruptionBudgets, retrying every 5 s) and wait until they are gone.
	Drain *Drain `yaml:"drain"`
	// Rollback is `kubectl rollout undo deployment/NAME [--to-revision=N]`.
	Rollback *Rollback `yaml:"rollback"`
	// Delete, Scale and SetImage are `kubectl delete`, `kubectl scale` and `kubectl set
	// image` (see timeline.go).
	Delete   *ObjectRef `yaml:"delete"`
	Scale    *Scale     `yaml:"scale"`
	SetImage *SetImage  `yaml:"setImage"`
	// objects are Apply's decoded objects.
	objects []model.Object
}

// Drain is a `kubectl drain` of one node, with kubectl's flags.
type Drain struct {
	Node               string    `yaml:"node"`
	Force              bool      `yaml:"force"`
	IgnoreDaemonSets   bool      `yaml:"ignoreDaemonSets"`
	DeleteEmptyDirData bool      `yaml:"deleteEmptyDirData"`
	Timeout            *Duration `yaml:"timeout"`
}

// Rollback names a Deployment ("namespace/name" or "name" in default) and the revision to
// go back to (0: the previous one).
type Rollback struct {
	Deployment string `yaml:"deployment"`
	ToRevision int64  `yaml:"toRevision"`
}

// Loads returns the scenario's loads for the metrics server.
func (s *Scenario) Loads() []metricsserver.Load {
	var out []metricsserver.Load
	for _, l := range s.Spec.Load {
		ns := l.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		out = append(out, metricsserver.Load{Namespace: ns, Selector: labels.SelectorFromSet(l.Selector), CPU: l.curve})
	}
	return out
}

// Builtin returns the names of the embedded scenarios, sorted.
func Builtin() []string {
	entries, _ := fs.ReadDir(builtin, "builtin")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// LoadBuiltin loads an embedded scenario by name.
func LoadBuiltin(name string) (*Scenario, error) {
	p := path.Join("builtin", name, "scenario.yaml")
	if _, err := fs.Stat(builtin, p); err != nil {
		return nil, fmt.Errorf("no built-in scenario %q (have: %s)", name, strings.Join(Builtin(), ", "))
	}
	return load(builtin, p, "builtin:"+name+"/")
}

// LoadFile loads a scenario file and the manifests it references.
func LoadFile(file string) (*Scenario, error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	return load(os.DirFS(dir), base, dir)
}

// load reads a scenario from fsys; display prefixes file names in messages.
func load(fsys fs.FS, name, display string) (*Scenario, error) {
	shown := displayName(display, name)
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(shown, data)
	if err != nil {
		return nil, err
	}
	var errs model.ErrorList
	for i, m := range s.Spec.Manifests {
		p := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(m)))
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &model.FieldError{File: shown, Doc: 1, Line: s.lineOf(fmt.Sprintf("spec.manifests[%d]", i)), Field: fmt.Sprintf("spec.manifests[%d]", i), Detail: fmt.Sprintf("cannot read %q: %v", m, unwrapPathError(err))})
			continue
		}
		objs, err := model.Decode(displayName(display, p), b)
		if err != nil {
			var el model.ErrorList
			if errors.As(err, &el) {
				errs = append(errs, el...)
				continue
			}
			return nil, err
		}
		s.Objects = append(s.Objects, objs...)
	}
	for i := range s.Spec.Timeline {
		e := &s.Spec.Timeline[i]
		if e.Apply == "" {
			continue
		}
		field := fmt.Sprintf("spec.timeline[%d].apply", i)
		p := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(e.Apply)))
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &model.FieldError{File: shown, Doc: 1, Line: s.lineOf(field), Field: field, Detail: fmt.Sprintf("cannot read %q: %v", e.Apply, unwrapPathError(err))})
			continue
		}
		objs, err := model.Decode(displayName(display, p), b)
		if err != nil {
			var el model.ErrorList
			if !errors.As(err, &el) {
				return nil, err
			}
			errs = append(errs, el...)
			continue
		}
		if err := model.Check(objs); err != nil {
			var el model.ErrorList
			if !errors.As(err, &el) {
				return nil, err
			}
			errs = append(errs, el...)
			continue
		}
		e.objects = objs
	}
	if s.Spec.Scheduler != "" {
		p := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(s.Spec.Scheduler)))
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &model.FieldError{File: shown, Doc: 1, Line: s.lineOf("spec.scheduler"), Field: "spec.scheduler", Detail: fmt.Sprintf("cannot read %q: %v", s.Spec.Scheduler, unwrapPathError(err))})
		} else if cfg, err := schedconfig.ParseFor(displayName(display, p), b, schedconfig.PluginNames(plugins.All())); err != nil {
			var el model.ErrorList
			if !errors.As(err, &el) {
				return nil, err
			}
			errs = append(errs, el...)
		} else {
			s.SchedulerConfig = cfg
		}
	}
	errs = append(errs, s.loadWorkloads(fsys, name, display)...)
	errs = append(errs, s.loadCompare(fsys, name, display)...)
	if len(errs) == 0 && s.importsNodes() {
		errs = append(errs, s.validateFaults()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := model.Check(s.Objects); err != nil {
		return nil, err
	}
	return s, nil
}

func displayName(prefix, name string) string {
	if prefix == "./" || prefix == "." {
		return name
	}
	if strings.HasPrefix(prefix, "builtin:") {
		return prefix + path.Base(name)
	}
	return filepath.Join(prefix, filepath.FromSlash(name))
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse decodes and validates a scenario document (without reading its manifests).
func Parse(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, model.ErrorList{{File: file, Doc: 1, Detail: err.Error()}}
	}
	s := &Scenario{File: file, root: &root}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, s.decodeErrors(err)
	}
	if errs := s.validate(); len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// decodeErrors turns yaml.v3's decoding errors ("line 9: field x not found in type
// scenarios.Spec", "line 5: cannot unmarshal ...") into one error per problem, with its
// line and field path, as kubectl reports strict decoding errors.
func (s *Scenario) decodeErrors(err error) model.ErrorList {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return model.ErrorList{{File: s.File, Doc: 1, Detail: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var out model.ErrorList
	for _, msg := range te.Errors {
		line := 0
		rest := msg
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
			rest = strings.TrimSpace(msg[strings.IndexByte(msg, ':')+1:])
		}
		key := ""
		if name, ok := strings.CutPrefix(rest, "field "); ok {
			if i := strings.Index(name, " not found in type "); i >= 0 {
				key = name[:i]
			}
		}
		field := s.fieldAtLine(line, key)
		if key != "" {
			out = append(out, &model.FieldError{File: s.File, Doc: 1, Line: line, Kind: Kind, Name: s.Metadata.Name, Field: field, Detail: fmt.Sprintf("unknown field %q", field)})
			continue
		}
		out = append(out, &model.FieldError{File: s.File, Doc: 1, Line: line, Kind: Kind, Name: s.Metadata.Name, Field: field, Detail: rest})
	}
	return out
}

// fieldAtLine returns the field path (spec.timeline[0].at) of the key (named key, if not
// empty) or item that starts on a line of the scenario's YAML, "" if none.
func (s *Scenario) fieldAtLine(line int, key string) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				k, v := n.Content[j], n.Content[j+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line && (key == "" || k.Value == key) && (v.Line != line || v.Kind == yaml.ScalarNode) {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
				if k.Line == line && (key == "" || k.Value == key) {
					return p
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if found := walk(c, fmt.Sprintf("%s[%d]", path, i)); found != "" {
					return found
				}
			}
		}
		return ""
	}
	if s.root == nil || line == 0 {
		return ""
	}
	return walk(s.root, "")
}

func (s *Scenario) errorf(field, format string, args ...any) *model.FieldError {
	return &model.FieldError{File: s.File, Doc: 1, Line: s.lineOf(field), Kind: Kind, Name: s.Metadata.Name, Field: field, Detail: fmt.Sprintf(format, args...)}
}

func (s *Scenario) validate() model.ErrorList {
	var errs model.ErrorList
	if s.APIVersion != APIVersion || s.Kind != Kind {
		errs = append(errs, s.errorf("kind", "expected apiVersion %q and kind %q, got %q and %q", APIVersion, Kind, s.APIVersion, s.Kind))
	}
	if s.Spec.Duration.Duration <= 0 {
		errs = append(errs, s.errorf("spec.duration", "Required value: a positive duration such as 15m"))
	}
	for i := range s.Spec.Load {
		l := &s.Spec.Load[i]
		field := fmt.Sprintf("spec.load[%d]", i)
		if len(l.Selector) == 0 {
			errs = append(errs, s.errorf(field+".selector", "Required value: the labels of the pods that share the load"))
		}
		if l.CPU.Kind == 0 {
			errs = append(errs, s.errorf(field+".cpu", "Required value: a CPU quantity or usage curve"))
			continue
		}
		c, err := model.ParseCurve(&l.CPU, field+".cpu", true)
		if list, ok := err.(model.ErrorList); ok {
			for _, fe := range list {
				e := *fe
				e.File, e.Doc, e.Kind, e.Name = s.File, 1, Kind, s.Metadata.Name
				errs = append(errs, &e)
			}
			continue
		} else if err != nil {
			errs = append(errs, s.errorf(field+".cpu", "Invalid value: %v", err))
			continue
		}
		l.curve = c
	}
	if c := s.Spec.Cluster.ClusterCIDR; c != "" {
		if _, n, err := net.ParseCIDR(c); err != nil {
			errs = append(errs, s.errorf("spec.cluster.clusterCIDR", "Invalid value: %q: must be a CIDR such as 10.0.0.0/14", c))
		} else if ones, bits := n.Mask.Size(); bits != 32 || ones > nodeipam.DefaultNodeCIDRMaskSize {
			errs = append(errs, s.errorf("spec.cluster.clusterCIDR", "Invalid value: %q: must be an IPv4 range of at least one /%d node block", c, nodeipam.DefaultNodeCIDRMaskSize))
		}
	}
	names := map[string]bool{}
	addNode := func(field, name string, shape NodeShape) {
		capacity, labels, taints := shape.Capacity, shape.Labels, shape.Taints
		for j, t := range taints {
			switch corev1.TaintEffect(t.Effect) {
			case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
			default:
				errs = append(errs, s.errorf(fmt.Sprintf("%s.taints[%d].effect", field, j), "Unsupported value: %q: supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\"", t.Effect))
			}
			for _, msg := range validation.IsQualifiedName(t.Key) {
				errs = append(errs, s.errorf(fmt.Sprintf("%s.taints[%d].key", field, j), "Invalid value: %q: %s", t.Key, msg))
			}
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			errs = append(errs, s.errorf(field+".name", "Invalid value: %q: %s", name, msg))
		}
		if names[name] {
			errs = append(errs, s.errorf(field+".name", "Duplicate value: %q", name))
		}
		names[name] = true
		for _, k := range sortedKeys(capacity) {
			if _, err := resource.ParseQuantity(capacity[k]); err != nil {
				errs = append(errs, s.errorf(field+".capacity."+k, "Invalid value: %q: %v", capacity[k], err))
			}
		}
		if _, ok := capacity["cpu"]; !ok {
			errs = append(errs, s.errorf(field+".capacity.cpu", "Required value"))
		}
		if _, ok := capacity["memory"]; !ok {
			errs = append(errs, s.errorf(field+".capacity.memory", "Required value"))
		}
		for _, k := range sortedKeys(shape.Reserved) {
			q, err := resource.ParseQuantity(shape.Reserved[k])
			if err != nil {
				errs = append(errs, s.errorf(field+".reserved."+k, "Invalid value: %q: %v", shape.Reserved[k], err))
				continue
			}
			if _, ok := capacity[k]; !ok {
				errs = append(errs, s.errorf(field+".reserved."+k, "Invalid value: %q: the node has no %s capacity to reserve from", shape.Reserved[k], k))
				continue
			}
			if c, err := resource.ParseQuantity(capacity[k]); err == nil && q.Cmp(c) > 0 {
				errs = append(errs, s.errorf(field+".reserved."+k, "Invalid value: %q: more than the capacity (%s)", shape.Reserved[k], capacity[k]))
			}
		}
		for j, img := range shape.Images {
			if img.Name == "" {
				errs = append(errs, s.errorf(fmt.Sprintf("%s.images[%d].name", field, j), "Required value"))
			}
			if img.Size != "" {
				if _, err := resource.ParseQuantity(img.Size); err != nil {
					errs = append(errs, s.errorf(fmt.Sprintf("%s.images[%d].size", field, j), "Invalid value: %q: %v", img.Size, err))
				}
			}
		}
		for _, k := range sortedKeys(labels) {
			for _, msg := range validation.IsQualifiedName(k) {
				errs = append(errs, s.errorf(field+".labels", "Invalid value: %q: %s", k, msg))
			}
		}
	}
	for i, n := range s.Spec.Cluster.Nodes {
		addNode(fmt.Sprintf("spec.cluster.nodes[%d]", i), n.Name, n.NodeShape)
	}
	for i, p := range s.Spec.Cluster.NodePools {
		field := fmt.Sprintf("spec.cluster.nodePools[%d]", i)
		if p.Count <= 0 {
			errs = append(errs, s.errorf(field+".count", "Invalid value: %d: must be greater than 0", p.Count))
		}
		for j := 1; j <= p.Count; j++ {
			addNode(field, p.Name+"-"+strconv.Itoa(j), p.NodeShape)
		}
	}
	if len(names) == 0 && !s.importsNodes() {
		errs = append(errs, s.errorf("spec.cluster", "Required value: at least one node or node pool"))
	}
	for i, e := range s.Spec.Timeline {
		field := fmt.Sprintf("spec.timeline[%d]", i)
		set := 0
		for _, b := range []bool{e.Fault != nil, e.Apply != "", e.AddNode != nil, e.RemoveNode != "", e.Cordon != "", e.Uncordon != "", e.Drain != nil, e.Rollback != nil, e.Delete != nil, e.Scale != nil, e.SetImage != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			errs = append(errs, s.errorf(field, "Invalid value: an event needs exactly one of fault, apply, addNode, removeNode, cordon, uncordon, drain, rollback, delete, scale or setImage"))
			continue
		}
		for _, ref := range []struct{ name, field string }{{e.Cordon, ".cordon"}, {e.Uncordon, ".uncordon"}} {
			if ref.name != "" && !names[ref.name] {
				errs = append(errs, s.errorf(field+ref.field, "Not found: %q: no such node in spec.cluster or added before", ref.name))
			}
		}
		if r := e.Rollback; r != nil {
			if r.Deployment == "" {
				errs = append(errs, s.errorf(field+".rollback.deployment", "Required value: the Deployment, as namespace/name"))
			}
			if r.ToRevision < 0 {
				errs = append(errs, s.errorf(field+".rollback.toRevision", "Invalid value: %d: must be 0 (the previous revision) or more", r.ToRevision))
			}
		}
		if e.Drain != nil && !names[e.Drain.Node] {
			errs = append(errs, s.errorf(field+".drain.node", "Not found: %q: no such node in spec.cluster or added before", e.Drain.Node))
		}
		if e.AddNode != nil {
			addNode(field+".addNode", e.AddNode.Name, e.AddNode.NodeShape)
			continue
		}
		if e.RemoveNode != "" {
			if !names[e.RemoveNode] {
				errs = append(errs, s.errorf(field+".removeNode", "Not found: %q: no such node in spec.cluster or added before", e.RemoveNode))
			}
			continue
		}
	}
	errs = append(errs, s.validateTraffic()...)
	errs = append(errs, s.validateWorkloads()...)
	errs = append(errs, s.validateAssertions()...)
	errs = append(errs, s.validateObjectEvents()...)
	errs = append(errs, s.validateTimings()...)
	if len(errs) == 0 && !s.importsNodes() {
		// With imported nodes, faults are checked once the files are read (load).
		errs = append(errs, s.validateFaults()...)
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lineOf finds the line of a field path such as spec.cluster.nodes[1].capacity.cpu in the
// scenario's YAML (the nearest existing ancestor's line when the field is absent).
func (s *Scenario) lineOf(field string) int {
	n := s.root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(field, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		next := (*yaml.Node)(nil)
		if n.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == name {
					next = n.Content[j+1]
					line = n.Content[j].Line
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// Nodes returns the node objects the scenario's cluster has, in the order listed.
func (s *Scenario) Nodes() []*corev1.Node {
	var out []*corev1.Node
	mk := buildNode
	for _, n := range s.Spec.Cluster.Nodes {
		out = append(out, mk(n.Name, n.NodeShape, n.Zone))
	}
	for _, p := range s.Spec.Cluster.NodePools {
		for j := 1; j <= p.Count; j++ {
			zone := ""
			if len(p.Zones) > 0 {
				zone = p.Zones[(j-1)%len(p.Zones)]
			}
			out = append(out, mk(p.Name+"-"+strconv.Itoa(j), p.NodeShape, zone))
		}
	}
	return append(out, s.importedNodes()...)
}

// buildNode makes the Node object of a validated node description.
func buildNode(name string, shape NodeShape, zone string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for _, t := range shape.Taints {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	for k, v := range shape.Labels {
		n.Labels[k] = v
	}
	n.Labels[corev1.LabelHostname] = name
	n.Labels[corev1.LabelOSStable] = "linux"
	n.Labels[corev1.LabelArchStable] = "amd64"
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	if shape.Region != "" {
		n.Labels[corev1.LabelTopologyRegion] = shape.Region
	}
	n.Status.Capacity = corev1.ResourceList{}
	for k, v := range shape.Capacity {
		n.Status.Capacity[corev1.ResourceName(k)] = resource.MustParse(v) // validated
	}
	if _, ok := n.Status.Capacity[corev1.ResourcePods]; !ok {
		n.Status.Capacity[corev1.ResourcePods] = resource.MustParse("110")
	}
	n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	for k, v := range shape.Reserved {
		name := corev1.ResourceName(k)
		q := n.Status.Allocatable[name]
		q.Sub(resource.MustParse(v)) // validated: not more than the capacity
		n.Status.Allocatable[name] = q
	}
	for _, img := range shape.Images {
		ci := corev1.ContainerImage{Names: []string{img.Name}}
		if img.Size != "" {
			q := resource.MustParse(img.Size)
			ci.SizeBytes = q.Value()
		}
		n.Status.Images = append(n.Status.Images, ci)
	}
	return n
}
