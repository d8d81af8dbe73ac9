package snapshot

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
)

// Well-known names and keys of what the API server and the controllers own.
const (
	mirrorAnnotation = "kubernetes.io/config.mirror"
	kubeAPIAccess    = "kube-api-access-"
	bootstrapLabel   = "kubernetes.io/bootstrapping"
)

// bootstrapNamespaces exist in every new cluster.
var bootstrapNamespaces = map[string]bool{"default": true, "kube-node-lease": true, "kube-public": true, "kube-system": true}

// systemPriorityClasses are created by the API server.
var systemPriorityClasses = map[string]bool{"system-cluster-critical": true, "system-node-critical": true}

// recreators are the controller kinds whose controllers recreate the kinds they own.
var recreators = map[string]map[string]bool{
	"Pod":        {"ReplicaSet": true, "DaemonSet": true, "Job": true},
	"ReplicaSet": {"Deployment": true},
}

// applyOrder ranks kinds so that what others need is created first.
var applyOrder = []string{
	"Namespace", "PriorityClass", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
	"ConfigMap", "Secret", "Service", "PodDisruptionBudget", "Deployment", "ReplicaSet",
	"DaemonSet", "Job", "HorizontalPodAutoscaler", "Pod",
}

func rank(kind string) int {
	for i, k := range applyOrder {
		if k == kind {
			return i
		}
	}
	return len(applyOrder)
}

// fate is what happens to one decoded object.
type fate int

const (
	keep fate = iota
	drop
	// recreated objects are dropped because a controller kept (or itself recreated)
	// recreates them.
	recreated
)

// convert decides each object's fate and cleans what is kept.
func (s *Snapshot) convert(objs []model.Object, seen map[int]facts, opts Options) {
	byUID := map[types.UID]int{}
	for i, o := range objs {
		if uid := o.Meta().GetUID(); uid != "" {
			byUID[uid] = i
		}
	}
	fates := make([]fate, len(objs))
	decided := make([]bool, len(objs))
	var decide func(i int) fate
	decide = func(i int) fate {
		if decided[i] {
			return fates[i]
		}
		decided[i] = true // an ownership cycle ends here, with the object kept
		if fates[i] = s.ownFate(objs[i], seen[objs[i].Source.Line]); fates[i] == drop {
			return drop
		}
		kind := objs[i].Kind.GVK.Kind
		if ref := metav1.GetControllerOf(objs[i].Meta()); ref != nil && recreators[kind][ref.Kind] {
			if j, ok := byUID[ref.UID]; ok && objs[j].Kind.GVK.Kind == ref.Kind && decide(j) != drop {
				fates[i] = recreated
				reason := fmt.Sprintf("dropped: its %s %s recreates it", ref.Kind, ref.Name)
				if kind == "ReplicaSet" {
					reason = fmt.Sprintf("dropped: its Deployment %s recreates its current ReplicaSet (older revisions are not replayed)", ref.Name)
				}
				s.Dropped = append(s.Dropped, noteOf(objs[i], reason))
			}
		}
		return fates[i]
	}
	for i := range objs {
		decide(i)
	}
	namespaces := map[string]bool{}
	present := map[string]bool{}
	for i, o := range objs {
		if fates[i] != keep {
			continue
		}
		s.clean(o, opts)
		if node, ok := o.Obj.(*corev1.Node); ok {
			s.Nodes = append(s.Nodes, node)
			continue
		}
		if ns := o.Meta().GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
		if o.Kind.GVK.Kind == "Namespace" {
			present[o.Meta().GetName()] = true
		}
		s.Objects = append(s.Objects, o)
	}
	s.addNamespaces(namespaces, present)
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	sort.SliceStable(s.Objects, func(i, j int) bool {
		a, b := s.Objects[i], s.Objects[j]
		if ra, rb := rank(a.Kind.GVK.Kind), rank(b.Kind.GVK.Kind); ra != rb {
			return ra < rb
		}
		if a.Kind.GVK.Kind != b.Kind.GVK.Kind {
			return a.Kind.GVK.Kind < b.Kind.GVK.Kind
		}
		if ma, mb := a.Meta(), b.Meta(); ma.GetNamespace() != mb.GetNamespace() {
			return ma.GetNamespace() < mb.GetNamespace()
		} else {
			return ma.GetName() < mb.GetName()
		}
	})
	sortNotes(s.Warnings)
	sortNotes(s.Dropped)
}

// ownFate decides what an object's own content says: objects being deleted, finished
// pods and Jobs, and what the API server creates by itself are dropped.
func (s *Snapshot) ownFate(o model.Object, f facts) fate {
	m := o.Meta()
	kind := o.Kind.GVK.Kind
	switch {
	case m.GetDeletionTimestamp() != nil:
		s.Warnings = append(s.Warnings, noteOf(o, "skipped: it was being deleted"))
		return drop
	case kind == "Pod" && (f.phase == string(corev1.PodSucceeded) || f.phase == string(corev1.PodFailed)):
		if ref := metav1.GetControllerOf(m); ref != nil {
			s.Dropped = append(s.Dropped, noteOf(o, fmt.Sprintf("dropped: it has terminated (%s) and belongs to %s %s", f.phase, ref.Kind, ref.Name)))
		} else {
			s.Warnings = append(s.Warnings, noteOf(o, fmt.Sprintf("skipped: it has terminated (%s); replaying it would run it again", f.phase)))
		}
		return drop
	case kind == "Job" && f.finished != "":
		s.Warnings = append(s.Warnings, noteOf(o, fmt.Sprintf("skipped: the Job has finished (%s); replaying it would run it again", f.finished)))
		return drop
	case kind == "Service" && m.GetNamespace() == metav1.NamespaceDefault && m.GetName() == "kubernetes":
		s.Dropped = append(s.Dropped, noteOf(o, "dropped: the API server's own Service"))
		return drop
	case kind == "PriorityClass" && systemPriorityClasses[m.GetName()]:
		s.Dropped = append(s.Dropped, noteOf(o, "dropped: the API server creates the system priority classes"))
		return drop
	case kind == "Namespace" && bootstrapNamespaces[m.GetName()]:
		s.Dropped = append(s.Dropped, noteOf(o, "dropped: every cluster starts with this namespace"))
		return drop
	case strings.HasPrefix(o.Kind.GVK.Group, "rbac.") && m.GetLabels()[bootstrapLabel] == "rbac-defaults":
		s.Dropped = append(s.Dropped, noteOf(o, "dropped: part of the API server's bootstrap policy"))
		return drop
	}
	return keep
}

// clean removes from a kept object what the API server and the controllers own.
func (s *Snapshot) clean(o model.Object, opts Options) {
	m := o.Meta()
	if ref := metav1.GetControllerOf(m); ref != nil {
		switch o.Kind.GVK.Kind {
		case "Pod", "ReplicaSet", "Job":
			s.Warnings = append(s.Warnings, noteOf(o, fmt.Sprintf("kept without its owner: %s %s is not in the snapshot or not simulated by Orrery, so nothing recreates it", ref.Kind, ref.Name)))
		}
	}
	clearMeta(m)
	m.SetOwnerReferences(nil)
	switch obj := o.Obj.(type) {
	case *corev1.Node:
		// The node keeps its status: capacity, allocatable, conditions, addresses, images.
	case *corev1.Pod:
		s.cleanPod(o, obj, opts)
	case *appsv1.Deployment:
		delete(obj.Annotations, "deployment.kubernetes.io/revision")
		obj.Status = appsv1.DeploymentStatus{}
	case *appsv1.ReplicaSet:
		for _, k := range []string{"deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas", "deployment.kubernetes.io/revision"} {
			delete(obj.Annotations, k)
		}
		obj.Status = appsv1.ReplicaSetStatus{}
	case *appsv1.DaemonSet:
		delete(obj.Annotations, "deprecated.daemonset.template.generation")
		obj.Status = appsv1.DaemonSetStatus{}
	case *batchv1.Job:
		cleanJob(obj)
	case *corev1.Namespace:
		obj.Status = corev1.NamespaceStatus{}
	case *corev1.Service:
		obj.Status = corev1.ServiceStatus{}
	}
}

// cleanPod makes a kept pod one the scheduler places again: no binding (unless the
// options keep it, or it is a static pod's mirror), no priority value (admission computes
// it from the class), no service-account token volume (admission injects one), no
// ephemeral containers (they cannot be set on create).
func (s *Snapshot) cleanPod(o model.Object, p *corev1.Pod, opts Options) {
	if _, mirror := p.Annotations[mirrorAnnotation]; mirror {
		s.Warnings = append(s.Warnings, noteOf(o, "static pod: kept bound to "+p.Spec.NodeName+" as a regular pod"))
		for k := range p.Annotations {
			if strings.HasPrefix(k, "kubernetes.io/config.") {
				delete(p.Annotations, k)
			}
		}
	} else if !opts.KeepBindings {
		p.Spec.NodeName = ""
	}
	p.Spec.Priority = nil
	p.Spec.PreemptionPolicy = nil
	p.Spec.EphemeralContainers = nil
	token := map[string]bool{}
	var vols []corev1.Volume
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, kubeAPIAccess) && v.Projected != nil {
			token[v.Name] = true
			continue
		}
		vols = append(vols, v)
	}
	p.Spec.Volumes = vols
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			var mounts []corev1.VolumeMount
			for _, vm := range cs[i].VolumeMounts {
				if !token[vm.Name] {
					mounts = append(mounts, vm)
				}
			}
			cs[i].VolumeMounts = mounts
		}
	}
	p.Status = corev1.PodStatus{}
}

// cleanJob removes the selector and labels the Job controller generated from the old
// Job's uid (a new one generates its own).
func cleanJob(j *batchv1.Job) {
	if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
		j.Spec.Selector = nil
		j.Spec.ManualSelector = nil
		for _, l := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
			delete(l, "controller-uid")
			delete(l, batchv1.ControllerUidLabel)
		}
	}
	j.Status = batchv1.JobStatus{}
}

// addNamespaces adds a Namespace for every namespace in use that a new cluster lacks and
// the snapshot does not hold.
func (s *Snapshot) addNamespaces(used, present map[string]bool) {
	kind, _ := model.LookupKind("v1", "Namespace")
	var names []string
	for ns := range used {
		if !bootstrapNamespaces[ns] && !present[ns] {
			names = append(names, ns)
		}
	}
	sort.Strings(names)
	for _, ns := range names {
		obj := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}}
		s.Objects = append(s.Objects, model.Object{Obj: obj, Kind: kind})
	}
}
