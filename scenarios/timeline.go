package scenarios

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim"
	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/loop"
)

// ObjectRef names an object for a timeline event: its resource (plural, as the API names
// it: deployments, pods, ...) and namespace/name (or name, in default; name alone for
// cluster-scoped objects).
type ObjectRef struct {
	Resource string `yaml:"resource"`
	Name     string `yaml:"name"`
}

// Scale is `kubectl scale --replicas=N RESOURCE/NAME`.
type Scale struct {
	ObjectRef `yaml:",inline"`
	Replicas  *int32 `yaml:"replicas"`
}

// SetImage is `kubectl set image RESOURCE/NAME CONTAINER=IMAGE`: it starts a rollout.
type SetImage struct {
	ObjectRef `yaml:",inline"`
	Container string `yaml:"container"`
	Image     string `yaml:"image"`
}

// split returns the namespace and name of a validated reference.
func (r ObjectRef) split(k *model.Kind) (string, string) {
	if !k.Namespaced {
		return "", r.Name
	}
	if ns, name, ok := strings.Cut(r.Name, "/"); ok {
		return ns, name
	}
	return metav1.NamespaceDefault, r.Name
}

// validate checks the reference; allowed, when not empty, lists the resources the event
// works on.
func (s *Scenario) validateRef(field string, r ObjectRef, allowed ...string) (*model.Kind, model.ErrorList) {
	var errs model.ErrorList
	k, ok := model.LookupResource(r.Resource)
	switch {
	case r.Resource == "":
		errs = append(errs, s.errorf(field+".resource", "Required value: a resource such as deployments"))
	case !ok:
		errs = append(errs, s.errorf(field+".resource", "Unsupported value: %q: not a resource Orrery serves (plural, e.g. deployments)", r.Resource))
	case len(allowed) > 0 && !contains(allowed, r.Resource):
		errs = append(errs, s.errorf(field+".resource", "Unsupported value: %q: supported values: %s", r.Resource, strings.Join(allowed, ", ")))
	}
	if r.Name == "" || strings.Count(r.Name, "/") > 1 {
		errs = append(errs, s.errorf(field+".name", "Invalid value: %q: want namespace/name or name", r.Name))
	}
	return k, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validateObjectEvents checks the delete, scale and setImage events of the timeline.
func (s *Scenario) validateObjectEvents() model.ErrorList {
	var errs model.ErrorList
	for i, e := range s.Spec.Timeline {
		field := fmt.Sprintf("spec.timeline[%d]", i)
		switch {
		case e.Delete != nil:
			_, el := s.validateRef(field+".delete", *e.Delete)
			errs = append(errs, el...)
		case e.Scale != nil:
			_, el := s.validateRef(field+".scale", e.Scale.ObjectRef, "deployments", "replicasets")
			errs = append(errs, el...)
			if e.Scale.Replicas == nil || *e.Scale.Replicas < 0 {
				errs = append(errs, s.errorf(field+".scale.replicas", "Required value: a number of replicas, 0 or more"))
			}
		case e.SetImage != nil:
			_, el := s.validateRef(field+".setImage", e.SetImage.ObjectRef, "deployments", "daemonsets", "replicasets", "jobs", "pods")
			errs = append(errs, el...)
			if e.SetImage.Container == "" {
				errs = append(errs, s.errorf(field+".setImage.container", "Required value: the container's name"))
			}
			if e.SetImage.Image == "" {
				errs = append(errs, s.errorf(field+".setImage.image", "Required value"))
			}
		}
	}
	return errs
}

// scheduleObjectEvent puts a delete, scale or setImage event on the loop; it reports
// whether e was one.
func scheduleObjectEvent(c *sim.Cluster, e Event) bool {
	at := loop.Epoch.Add(e.At.Duration)
	act := func(ref ObjectRef, reason, failed string, do func(k *model.Kind, ns, name string) (string, error)) {
		k, _ := model.LookupResource(ref.Resource) // validated
		ns, name := ref.split(k)
		c.Loop.At(at, func() {
			msg, err := do(k, ns, name)
			if err != nil {
				c.Log.Action(sim.Actor, failed, k.Resource, ns, name, err.Error())
				return
			}
			c.Log.Action(sim.Actor, reason, k.Resource, ns, name, msg)
		})
	}
	kind := func(k *model.Kind) string { return strings.ToLower(k.GVK.Kind) }
	switch {
	case e.Delete != nil:
		act(*e.Delete, "Deleted", "DeleteFailed", func(k *model.Kind, ns, name string) (string, error) {
			_, err := c.Admin.Delete(k.Resource, ns, name, apiserver.DeleteOptions{})
			return fmt.Sprintf("%s %q deleted", kind(k), name), err
		})
	case e.Scale != nil:
		n := *e.Scale.Replicas
		act(e.Scale.ObjectRef, "Scaled", "ScaleFailed", func(k *model.Kind, ns, name string) (string, error) {
			patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"replicas": n}})
			_, err := c.Admin.Patch(k.Resource, ns, name, types.MergePatchType, patch, "")
			return fmt.Sprintf("%s.%s/%s scaled to %d", kind(k), k.GVK.Group, name, n), err
		})
	case e.SetImage != nil:
		si := e.SetImage
		act(si.ObjectRef, "ImageSet", "SetImageFailed", func(k *model.Kind, ns, name string) (string, error) {
			containers := []map[string]string{{"name": si.Container, "image": si.Image}}
			var spec map[string]any
			if k.Resource == "pods" {
				spec = map[string]any{"spec": map[string]any{"containers": containers}}
			} else {
				spec = map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": containers}}}}
			}
			patch, _ := json.Marshal(spec)
			_, err := c.Admin.Patch(k.Resource, ns, name, types.StrategicMergePatchType, patch, "")
			return fmt.Sprintf("%s.%s/%s image updated: %s=%s", kind(k), k.GVK.Group, name, si.Container, si.Image), err
		})
	default:
		return false
	}
	return true
}
