package schedconfig

import (
	"os"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// Kind is the kind of a scheduler configuration file.
const Kind = "KubeSchedulerConfiguration"

// APIVersion is the only version Orrery reads, upstream's v1.
var APIVersion = configv1.SchemeGroupVersion.String()

// Load reads a scheduler configuration file and parses it like Parse.
func Load(path string) (*configv1.KubeSchedulerConfiguration, error) {
	return LoadFor(path, InTreePlugins())
}

// LoadFor reads a scheduler configuration file and parses it like ParseFor.
func LoadFor(path string, known []string) (*configv1.KubeSchedulerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFor(path, data, known)
}

// Parse decodes, defaults and validates a KubeSchedulerConfiguration whose plugins are
// Orrery's in-tree ones (InTreePlugins).
func Parse(file string, data []byte) (*configv1.KubeSchedulerConfiguration, error) {
	return ParseFor(file, data, InTreePlugins())
}

// ParseFor decodes a KubeSchedulerConfiguration strictly (each pluginConfig's args into the
// typed args of its plugin; args of a known plugin without typed args are kept as
// *runtime.Unknown JSON, as upstream hands them to out-of-tree plugins), checks the plugins
// it names against known, applies upstream's defaults and validates the result. Every problem
// is a model.ErrorList entry with file, line and field path.
func ParseFor(file string, data []byte, known []string) (*configv1.KubeSchedulerConfiguration, error) {
	doc, err := model.ParseDocument(file, data)
	if err != nil {
		return nil, err
	}
	if err := checkTypeMeta(doc); err != nil {
		return nil, err
	}
	cfg := &configv1.KubeSchedulerConfiguration{}
	if err := doc.DecodeField(nil, cfg); err != nil {
		return nil, err
	}
	knownSet := map[string]bool{}
	for _, n := range known {
		knownSet[n] = true
	}
	var errs model.ErrorList
	for i := range cfg.Profiles {
		for j := range cfg.Profiles[i].PluginConfig {
			path := field.NewPath("profiles").Index(i).Child("pluginConfig").Index(j)
			errs = append(errs, decodeArgs(doc, path, &cfg.Profiles[i].PluginConfig[j], knownSet)...)
		}
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	errs = append(errs, toModel(doc, validateWritten(cfg, knownSet))...)
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	SetDefaults(cfg)
	if errs := toModel(doc, validateDefaulted(cfg)); len(errs) > 0 {
		return nil, sorted(errs)
	}
	return cfg, nil
}

// PluginNames returns the names of a registry's plugins, sorted, for ParseFor and LoadFor.
func PluginNames(reg framework.Registry) []string {
	names := make([]string, 0, len(reg))
	for n := range reg {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkTypeMeta requires apiVersion kubescheduler.config.k8s.io/v1 and kind
// KubeSchedulerConfiguration before anything else is decoded.
func checkTypeMeta(doc *model.Document) error {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := doc.DecodeField(field.NewPath("apiVersion"), &tm.APIVersion); err != nil {
		return err
	}
	if err := doc.DecodeField(field.NewPath("kind"), &tm.Kind); err != nil {
		return err
	}
	var errs model.ErrorList
	if tm.APIVersion != APIVersion {
		p := field.NewPath("apiVersion")
		fe := field.NotSupported(p, tm.APIVersion, []string{APIVersion})
		if tm.APIVersion == "" {
			fe = field.Required(p, "")
		}
		errs = append(errs, doc.Error(p, fe.ErrorBody()))
	}
	if tm.Kind != Kind {
		p := field.NewPath("kind")
		fe := field.NotSupported(p, tm.Kind, []string{Kind})
		if tm.Kind == "" {
			fe = field.Required(p, "")
		}
		errs = append(errs, doc.Error(p, fe.ErrorBody()))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// decodeArgs replaces a pluginConfig entry's raw args by its plugin's typed args, decoded
// strictly from the document so that problems inside args carry their own lines.
func decodeArgs(doc *model.Document, path *field.Path, pc *configv1.PluginConfig, known map[string]bool) model.ErrorList {
	if !known[pc.Name] {
		return model.ErrorList{doc.Error(path.Child("name"), field.Invalid(path.Child("name"), pc.Name, "unknown plugin").ErrorBody())}
	}
	newArgs, typed := argsTypes[pc.Name]
	if !typed {
		if len(pc.Args.Raw) > 0 && string(pc.Args.Raw) != "null" {
			pc.Args = runtime.RawExtension{Object: &runtime.Unknown{Raw: pc.Args.Raw, ContentType: runtime.ContentTypeJSON}}
		}
		return nil
	}
	args := newArgs()
	argsPath := path.Child("args")
	if err := doc.DecodeField(argsPath, args); err != nil {
		if list, ok := err.(model.ErrorList); ok {
			return list
		}
		return model.ErrorList{doc.Error(argsPath, err.Error())}
	}
	want := configv1.SchemeGroupVersion.WithKind(pc.Name + "Args")
	gvk := args.GetObjectKind().GroupVersionKind()
	var errs model.ErrorList
	if gvk.Kind != "" && gvk.Kind != want.Kind {
		p := argsPath.Child("kind")
		errs = append(errs, doc.Error(p, field.NotSupported(p, gvk.Kind, []string{want.Kind}).ErrorBody()))
	}
	if av := args.GetObjectKind().GroupVersionKind().GroupVersion().String(); gvk.Version != "" && av != APIVersion {
		p := argsPath.Child("apiVersion")
		errs = append(errs, doc.Error(p, field.NotSupported(p, av, []string{APIVersion}).ErrorBody()))
	}
	args.GetObjectKind().SetGroupVersionKind(want)
	pc.Args = runtime.RawExtension{Raw: pc.Args.Raw, Object: args}
	return errs
}

// toModel turns validation errors into model errors at their lines in doc.
func toModel(doc *model.Document, errs field.ErrorList) model.ErrorList {
	out := make(model.ErrorList, 0, len(errs))
	for _, e := range errs {
		out = append(out, &model.FieldError{File: doc.File(), Line: doc.LineOf(e.Field), Field: e.Field, Detail: e.ErrorBody()})
	}
	return out
}

// sorted orders problems by line, as a reader goes through the file.
func sorted(errs model.ErrorList) model.ErrorList {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}
