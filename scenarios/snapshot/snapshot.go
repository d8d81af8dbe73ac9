package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/model"
)

// Options change what a replay of the snapshot keeps.
type Options struct {
	// KeepBindings keeps the nodeName of the bare pods, so they start where they ran,
	// instead of clearing it so the scheduler places them again.
	KeepBindings bool
}

// Snapshot is an imported cluster.
type Snapshot struct {
	// Nodes are the cluster's nodes, sorted by name.
	Nodes []*corev1.Node
	// Objects are the other objects to create, in an order an API server accepts them
	// (namespaces and priority classes first, pods last), each kind sorted by namespace and
	// name. Namespaces the objects use that the snapshot lacks are added.
	Objects []model.Object
	// Warnings are items that were not imported, or imported differently, in ways a user
	// may not expect (a kind Orrery does not simulate, a pod whose controller is missing).
	Warnings []Note
	// Dropped are items left out by design because the cluster recreates them (pods of an
	// imported controller, the API server's own objects).
	Dropped []Note
}

// Note names one item of the snapshot and what happened to it.
type Note struct {
	// File and Line locate the item.
	File string
	Line int
	// Kind, Namespace and Name identify it.
	Kind, Namespace, Name string
	// Reason says what was done and why.
	Reason string
}

// String formats the note as file:line: Kind namespace/name: reason.
func (n Note) String() string {
	id := n.Name
	if n.Namespace != "" {
		id = n.Namespace + "/" + n.Name
	}
	return fmt.Sprintf("%s:%d: %s %s: %s", n.File, n.Line, n.Kind, id, n.Reason)
}

// ReadFile reads a snapshot file.
func ReadFile(path string, opts Options) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return Read(path, data, opts)
}

// Managed kinds are served by Orrery but owned by controllers or components that
// recreate them; a snapshot's copies are dropped.
var managedKinds = map[string]string{
	"Event":              "events are history, not state",
	"EndpointSlice":      "the EndpointSlice controller recreates it from its Service",
	"Endpoints":          "the endpoints controller recreates it from its Service",
	"Lease":              "leases belong to running components (kubelets, leaders)",
	"ControllerRevision": "its DaemonSet or StatefulSet controller recreates it",
}

// Read imports a snapshot: YAML documents holding a kind: List of items (as `kubectl get
// ... -o yaml` prints) or single objects. Items of kinds Orrery does not serve are
// skipped with a warning; the rest are decoded strictly by model.Decode, so a problem
// comes back as a model.ErrorList naming file, item, line and field.
func Read(file string, data []byte, opts Options) (*Snapshot, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	docs, err := splitDocuments(file, data)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{}
	b := newBlanker(data)
	// docOf maps the index of a decoded document to its index in the file (documents of a
	// single skipped object vanish), itemOf maps, per file document, the index of a decoded
	// item to its index in the file.
	var docOf []int
	itemOf := map[int][]int{}
	seen := map[int]facts{}
	for d, doc := range docs {
		root := doc.root
		kind := scalar(root, "kind")
		if root.Kind != yaml.MappingNode || !strings.HasSuffix(kind, "List") {
			if s.prefilter(file, b, root, doc.first, doc.end, seen) {
				docOf = append(docOf, d+1)
			}
			continue
		}
		docOf = append(docOf, d+1)
		_, items, _, itemsEnd := entry(root, "items", doc.end)
		if items == nil || items.Kind != yaml.SequenceNode {
			continue
		}
		if items.Style&yaml.FlowStyle != 0 {
			return nil, fmt.Errorf("%s: line %d: the items are in flow style (JSON): write the snapshot with kubectl get -o yaml", file, items.Line)
		}
		for i, it := range items.Content {
			end := itemsEnd
			if i+1 < len(items.Content) {
				end = items.Content[i+1].Line - 1
			}
			if s.prefilter(file, b, it, it.Line, end, seen) {
				itemOf[d+1] = append(itemOf[d+1], i+1)
			}
		}
	}
	objs, err := model.Decode(file, b.bytes())
	if err != nil {
		var el model.ErrorList
		if !errors.As(err, &el) {
			return nil, err
		}
		for _, fe := range el {
			fe.Doc, fe.Item = renumber(fe.Doc, fe.Item, docOf, itemOf)
		}
		return nil, el
	}
	for i := range objs {
		src := &objs[i].Source
		src.Doc, src.Item = renumber(src.Doc, src.Item, docOf, itemOf)
	}
	s.convert(objs, seen, opts)
	return s, nil
}

// renumber maps a decoded document and item number to the file's.
func renumber(doc, item int, docOf []int, itemOf map[int][]int) (int, int) {
	if doc < 1 || doc > len(docOf) {
		return doc, item
	}
	doc = docOf[doc-1]
	if item > 0 && item <= len(itemOf[doc]) {
		item = itemOf[doc][item-1]
	}
	return doc, item
}

// prefilter decides from an item's YAML whether to decode it: an unknown or managed kind
// is blanked out with a note; a kept item loses its status (except a Node's) and
// managedFields, which the API server owns. It reports whether the item is kept.
func (s *Snapshot) prefilter(file string, b *blanker, it *yaml.Node, from, to int, facts map[int]facts) bool {
	if it.Kind != yaml.MappingNode {
		return true // model.Decode reports it
	}
	apiVersion, kind := scalar(it, "apiVersion"), scalar(it, "kind")
	_, meta, _, _ := entry(it, "metadata", 0)
	note := Note{File: file, Line: it.Line, Kind: kind, Namespace: scalar(meta, "namespace"), Name: scalar(meta, "name")}
	if apiVersion == "" || kind == "" {
		return true // model.Decode reports it
	}
	if _, ok := model.LookupKind(apiVersion, kind); !ok {
		note.Reason = fmt.Sprintf("skipped: Orrery does not simulate %s %s", apiVersion, kind)
		s.Warnings = append(s.Warnings, note)
		b.blank(from, to)
		return false
	}
	if why, ok := managedKinds[kind]; ok {
		note.Reason = "dropped: " + why
		s.Dropped = append(s.Dropped, note)
		b.blank(from, to)
		return false
	}
	if kind != "Node" {
		if _, _, f, t := entry(it, "status", to); f > 0 {
			b.blank(f, t)
		}
	}
	_, _, metaFrom, metaTo := entry(it, "metadata", to)
	if metaFrom > 0 {
		if _, _, f, t := entry(meta, "managedFields", metaTo); f > 0 {
			b.blank(f, t)
		}
	}
	facts[it.Line] = factsOf(kind, it, to)
	return true
}

// sortNotes orders notes by file and line.
func sortNotes(ns []Note) {
	sort.SliceStable(ns, func(i, j int) bool {
		if ns[i].File != ns[j].File {
			return ns[i].File < ns[j].File
		}
		return ns[i].Line < ns[j].Line
	})
}

// noteOf returns a note about a decoded object.
func noteOf(o model.Object, reason string) Note {
	m := o.Meta()
	return Note{File: o.Source.File, Line: o.Source.Line, Kind: o.Kind.GVK.Kind, Namespace: m.GetNamespace(), Name: m.GetName(), Reason: reason}
}

// clearMeta removes what the API server sets on an object.
func clearMeta(m metav1.Object) {
	m.SetResourceVersion("")
	m.SetUID("")
	m.SetManagedFields(nil)
	m.SetCreationTimestamp(metav1.Time{})
	m.SetGeneration(0)
	m.SetSelfLink("")
}
