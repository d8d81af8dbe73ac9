package model

import (
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream limits and messages used by validation.
const (
	// HighestUserDefinablePriority is the largest value a user-defined PriorityClass may have.
	HighestUserDefinablePriority int32 = 1000000000
	// SystemCriticalPriority is the value of the system-cluster-critical PriorityClass.
	SystemCriticalPriority int32 = 2 * HighestUserDefinablePriority
	// SystemPriorityClassPrefix is the name prefix reserved for system PriorityClasses.
	SystemPriorityClassPrefix = "system-"
	// MaxSecretSize is the largest total size of a Secret's or ConfigMap's data.
	MaxSecretSize = 1 * 1024 * 1024
	// fieldImmutableErrorMsg is upstream's message for changed immutable fields.
	fieldImmutableErrorMsg = "field is immutable"
)

// updatablePodSpecFields are the pod spec fields an update may change, as listed in upstream's message.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

var (
	supportedPortProtocols   = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	supportedRestartPolicies = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	supportedDNSPolicies     = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	supportedPullPolicies    = []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
	supportedTaintEffects    = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}
	supportedServiceTypes    = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName}
	supportedAffinities      = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
)

// Validate checks an object as the API server's create validation would, after defaulting.
func Validate(obj runtime.Object) field.ErrorList {
	k, err := KindOf(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	if reflect.ValueOf(obj).IsNil() {
		return field.ErrorList{field.Required(nil, "object is nil")}
	}
	m, _ := obj.(metav1.Object)
	errs := validateMeta(m, k.Namespaced, nameFuncFor(k))
	switch o := obj.(type) {
	case *corev1.Pod:
		errs = append(errs, validatePodSpec(&o.Spec, field.NewPath("spec"), true)...)
	case *corev1.Node:
		errs = append(errs, validateNode(o)...)
	case *corev1.Service:
		errs = append(errs, validateService(o)...)
	case *corev1.ConfigMap:
		errs = append(errs, validateConfigMap(o)...)
	case *corev1.Secret:
		errs = append(errs, validateSecret(o)...)
	case *appsv1.Deployment:
		errs = append(errs, validateDeployment(o)...)
	case *appsv1.ReplicaSet:
		errs = append(errs, validateReplicaSet(o)...)
	case *appsv1.DaemonSet:
		errs = append(errs, validateDaemonSet(o)...)
	case *batchv1.Job:
		errs = append(errs, validateJob(o)...)
	case *discoveryv1.EndpointSlice:
		errs = append(errs, validateEndpointSlice(o)...)
	case *corev1.Event:
		errs = append(errs, validateEvent(o)...)
	case *schedulingv1.PriorityClass:
		errs = append(errs, validatePriorityClass(o)...)
	case *rbacv1.Role:
		errs = append(errs, validatePolicyRules(o.Rules, true)...)
	case *rbacv1.ClusterRole:
		errs = append(errs, validatePolicyRules(o.Rules, false)...)
	case *rbacv1.RoleBinding:
		errs = append(errs, validateRoleBinding(o.RoleRef, o.Subjects, true)...)
	case *rbacv1.ClusterRoleBinding:
		errs = append(errs, validateRoleBinding(o.RoleRef, o.Subjects, false)...)
	case *coordinationv1.Lease:
		errs = append(errs, validateLease(o)...)
	case *policyv1.PodDisruptionBudget:
		errs = append(errs, validatePDB(o)...)
	case *autoscalingv2.HorizontalPodAutoscaler:
		errs = append(errs, validateHPA(o)...)
	}
	return errs
}

// nameFuncFor returns the name rule upstream applies to a kind.
func nameFuncFor(k *Kind) apivalidation.ValidateNameFunc {
	switch k.Resource {
	case "namespaces":
		return apivalidation.NameIsDNSLabel
	case "services":
		return apivalidation.NameIsDNS1035Label
	case "roles", "clusterroles", "rolebindings", "clusterrolebindings":
		return path.ValidatePathSegmentName
	}
	return apivalidation.NameIsDNSSubdomain
}

// validateMeta validates object metadata; an empty namespace means "default", as kubectl
// assumes, a namespace on a cluster-scoped object is ignored, as the API server clears it,
// and a generateName stands for the name the API server would generate from it.
func validateMeta(m metav1.Object, namespaced bool, nameFn apivalidation.ValidateNameFunc) field.ErrorList {
	if m == nil {
		return nil
	}
	var om *metav1.ObjectMeta
	if a, ok := m.(metav1.ObjectMetaAccessor); ok {
		om, _ = a.GetObjectMeta().(*metav1.ObjectMeta)
	}
	if om == nil {
		return apivalidation.ValidateObjectMetaAccessor(m, namespaced, nameFn, field.NewPath("metadata"))
	}
	c := *om
	if namespaced && c.Namespace == "" {
		c.Namespace = metav1.NamespaceDefault
	}
	if !namespaced {
		c.Namespace = ""
	}
	if c.Name == "" && c.GenerateName != "" {
		// The API server generates the name (prefix plus five random characters) before validating.
		c.Name = c.GenerateName + "xxxxx"
	}
	return apivalidation.ValidateObjectMeta(&c, namespaced, nameFn, field.NewPath("metadata"))
}

func validateDNSSubdomain(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

func validateDNSLabel(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

func nonNegative(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(*v), p)
}

// validatePodTemplate validates a workload's pod template: metadata and spec.
func validatePodTemplate(t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, p.Child("metadata", "labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, p.Child("metadata", "annotations"))...)
	return append(errs, validatePodSpec(&t.Spec, p.Child("spec"), false)...)
}

// validatePodSpec validates a pod spec; isPod is false for templates inside workloads.
func validatePodSpec(s *corev1.PodSpec, p *field.Path, isPod bool) field.ErrorList {
	volumes, errs := validateVolumes(s.Volumes, p.Child("volumes"))
	names := sets.New[string]()
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		cp := p.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, volumes, isPod)...)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if !sidecar {
			for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
				if probe != nil {
					errs = append(errs, field.Forbidden(cp.Child(name), "may not be set for init containers without restartPolicy=Always"))
				}
			}
		}
	}
	for i := range s.Containers {
		c := &s.Containers[i]
		cp := p.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, cp, names, volumes, isPod)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(cp.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	switch s.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(p.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), s.RestartPolicy, supportedRestartPolicies))
	}
	switch s.DNSPolicy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault:
	case corev1.DNSNone:
		if s.DNSConfig == nil {
			errs = append(errs, field.Required(p.Child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"))
		}
	case "":
		errs = append(errs, field.Required(p.Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("dnsPolicy"), s.DNSPolicy, supportedDNSPolicies))
	}
	errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
	if s.ServiceAccountName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(s.ServiceAccountName, false) {
			errs = append(errs, field.Invalid(p.Child("serviceAccountName"), s.ServiceAccountName, msg))
		}
	}
	if s.NodeName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(s.NodeName, false) {
			errs = append(errs, field.Invalid(p.Child("nodeName"), s.NodeName, msg))
		}
	}
	if s.ActiveDeadlineSeconds != nil {
		if v := *s.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if s.Hostname != "" {
		errs = append(errs, validateDNSLabel(s.Hostname, p.Child("hostname"))...)
	}
	if s.Subdomain != "" {
		errs = append(errs, validateDNSLabel(s.Subdomain, p.Child("subdomain"))...)
	}
	if s.PriorityClassName != "" {
		errs = append(errs, validateDNSSubdomain(s.PriorityClassName, p.Child("priorityClassName"))...)
	}
	if s.SchedulerName != "" {
		errs = append(errs, validateDNSSubdomain(s.SchedulerName, p.Child("schedulerName"))...)
	}
	errs = append(errs, validateTolerations(s.Tolerations, p.Child("tolerations"))...)
	errs = append(errs, validateAffinity(s.Affinity, p.Child("affinity"))...)
	errs = append(errs, validateTopologySpread(s.TopologySpreadConstraints, p.Child("topologySpreadConstraints"))...)
	return errs
}

// validateVolumes checks volume names and sources, returning the set of volume names.
func validateVolumes(vs []corev1.Volume, p *field.Path) (sets.Set[string], field.ErrorList) {
	names := sets.New[string]()
	var errs field.ErrorList
	for i := range vs {
		v := &vs[i]
		ip := p.Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(ip.Child("name"), ""))
		case names.Has(v.Name):
			errs = append(errs, field.Duplicate(ip.Child("name"), v.Name))
		default:
			errs = append(errs, validateDNSLabel(v.Name, ip.Child("name"))...)
		}
		names.Insert(v.Name)
		sv := reflect.ValueOf(v.VolumeSource)
		count := 0
		for f := 0; f < sv.NumField(); f++ {
			if sv.Field(f).IsNil() {
				continue
			}
			count++
			if count > 1 {
				name, _, _ := strings.Cut(sv.Type().Field(f).Tag.Get("json"), ",")
				errs = append(errs, field.Forbidden(ip.Child(name), "may not specify more than 1 volume type"))
			}
		}
		if count == 0 {
			errs = append(errs, field.Required(ip, "must specify a volume type"))
		}
	}
	return names, errs
}

func validateContainer(c *corev1.Container, p *field.Path, names, volumes sets.Set[string], isPod bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.Name == "":
		errs = append(errs, field.Required(p.Child("name"), ""))
	case names.Has(c.Name):
		errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
	default:
		errs = append(errs, validateDNSLabel(c.Name, p.Child("name"))...)
	}
	names.Insert(c.Name)
	if isPod && c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	if c.Image != strings.TrimSpace(c.Image) {
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	case "":
		errs = append(errs, field.Required(p.Child("imagePullPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy, supportedPullPolicies))
	}
	errs = append(errs, validatePorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	mountPaths := sets.New[string]()
	for i, m := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(mp.Child("name"), ""))
		} else if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(mp.Child("mountPath"), ""))
		case mountPaths.Has(m.MountPath):
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPaths.Insert(m.MountPath)
	}
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateProbe(c.LivenessProbe, p.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, p.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, p.Child("startupProbe"))...)
	if c.LivenessProbe != nil && c.LivenessProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
	}
	if c.StartupProbe != nil && c.StartupProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("startupProbe", "successThreshold"), c.StartupProbe.SuccessThreshold, "must be 1"))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), "must be 'File' or 'FallbackToLogsOnError'"))
	default:
		errs = append(errs, field.Invalid(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, "must be 'File' or 'FallbackToLogsOnError'"))
	}
	return errs
}

func validatePorts(ports []corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		ip := p.Index(i)
		if port.Name != "" {
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(ip.Child("name"), port.Name, msg))
			}
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(ip.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(ip.Child("hostPort"), port.HostPort, msg))
			}
		}
		errs = append(errs, validateProtocol(port.Protocol, ip.Child("protocol"))...)
	}
	return errs
}

func validateProtocol(proto corev1.Protocol, p *field.Path) field.ErrorList {
	switch proto {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	case "":
		return field.ErrorList{field.Required(p, "")}
	}
	return field.ErrorList{field.NotSupported(p, proto, supportedPortProtocols)}
}

func validateEnv(env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range env {
		ip := p.Index(i)
		if e.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else {
			for _, msg := range validation.IsRelaxedEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(ip.Child("name"), e.Name, msg))
			}
		}
		if vf := e.ValueFrom; vf != nil {
			n := 0
			for _, set := range []bool{vf.FieldRef != nil, vf.ResourceFieldRef != nil, vf.ConfigMapKeyRef != nil, vf.SecretKeyRef != nil, vf.FileKeyRef != nil} {
				if set {
					n++
				}
			}
			if e.Value != "" && n != 0 {
				errs = append(errs, field.Invalid(ip.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
			}
			if n == 0 {
				errs = append(errs, field.Invalid(ip.Child("valueFrom"), "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
			} else if n > 1 {
				errs = append(errs, field.Invalid(ip.Child("valueFrom"), "", "may not have more than one field specified at a time"))
			}
		}
	}
	return errs
}

// isOvercommitAllowed reports whether requests may be below limits: native, non-hugepage resources.
func isOvercommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
	return native && !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := p.Child("limits"), p.Child("requests")
	for _, name := range sortedResourceNames(r.Limits) {
		q := r.Limits[name]
		errs = append(errs, validateResourceName(name, limPath.Key(string(name)))...)
		errs = append(errs, nonNegativeQuantity(q, limPath.Key(string(name)))...)
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		errs = append(errs, validateResourceName(name, reqPath.Key(string(name)))...)
		errs = append(errs, nonNegativeQuantity(q, reqPath.Key(string(name)))...)
		limit, ok := r.Limits[name]
		switch {
		case ok && q.Cmp(limit) != 0 && !isOvercommitAllowed(name):
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case ok && q.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !ok && !isOvercommitAllowed(name):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

func validateResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

func nonNegativeQuantity(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(p, q.String(), apivalidation.IsNegativeErrorMsg)}
	}
	return nil
}

func validateProbe(pr *corev1.Probe, p *field.Path) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	h := pr.ProbeHandler
	for _, x := range []struct {
		name string
		set  bool
	}{{"exec", h.Exec != nil}, {"httpGet", h.HTTPGet != nil}, {"tcpSocket", h.TCPSocket != nil}, {"grpc", h.GRPC != nil}} {
		if !x.set {
			continue
		}
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child(x.name), "may not specify more than 1 handler type"))
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	if h.HTTPGet != nil {
		errs = append(errs, validatePortNumOrName(h.HTTPGet.Port, p.Child("httpGet", "port"))...)
	}
	if h.TCPSocket != nil {
		errs = append(errs, validatePortNumOrName(h.TCPSocket.Port, p.Child("tcpSocket", "port"))...)
	}
	if h.GRPC != nil {
		for _, msg := range validation.IsValidPortNum(int(h.GRPC.Port)) {
			errs = append(errs, field.Invalid(p.Child("grpc", "port"), h.GRPC.Port, msg))
		}
	}
	errs = append(errs, nonNegative(&pr.InitialDelaySeconds, p.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(&pr.TimeoutSeconds, p.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(&pr.PeriodSeconds, p.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(&pr.SuccessThreshold, p.Child("successThreshold"))...)
	errs = append(errs, nonNegative(&pr.FailureThreshold, p.Child("failureThreshold"))...)
	if pr.TerminationGracePeriodSeconds != nil && *pr.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *pr.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(p, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(p, port.StrVal, msg))
		}
	default:
		errs = append(errs, field.Invalid(p, port, "unknown type"))
	}
	return errs
}

func validateTolerations(ts []corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		ip := p.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, ip.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(ip.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(ip.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(ip.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(ip.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(ip.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, ip.Child("effect"))...)
		}
	}
	return errs
}

func validateTaintEffect(e corev1.TaintEffect, p *field.Path) field.ErrorList {
	switch e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, e, supportedTaintEffects)}
}

func validateNodeSelectorRequirement(r corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	return append(errs, metav1validation.ValidateLabelName(r.Key, p.Child("key"))...)
}

func validateNodeSelectorTerm(t corev1.NodeSelectorTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, r := range t.MatchExpressions {
		errs = append(errs, validateNodeSelectorRequirement(r, p.Child("matchExpressions").Index(j))...)
	}
	return errs
}

func validatePodAffinityTerm(t corev1.PodAffinityTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs = append(errs, metav1validation.ValidateLabelSelector(t.LabelSelector, opts, p.Child("labelSelector"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(t.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	for _, ns := range t.Namespaces {
		errs = append(errs, validateDNSLabel(ns, p.Child("namespace"))...)
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, metav1validation.ValidateLabelName(t.TopologyKey, p.Child("topologyKey"))...)
	}
	return errs
}

func validateWeight(w int32, p *field.Path) field.ErrorList {
	if w <= 0 || w > 100 {
		return field.ErrorList{field.Invalid(p, w, "must be in the range 1-100")}
	}
	return nil
}

func validateAffinity(a *corev1.Affinity, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := p.Child("nodeAffinity")
		if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution")
			if len(r.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term"))
			}
			for i, t := range r.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(t, rp.Child("nodeSelectorTerms").Index(i))...)
			}
		}
		for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			ip := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(t.Weight, ip.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(t.Preference, ip.Child("preference"))...)
		}
	}
	for name, pa := range map[string]*corev1.PodAffinity{"podAffinity": a.PodAffinity} {
		if pa == nil {
			continue
		}
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child(name))...)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution, p.Child("podAntiAffinity"))...)
	}
	return errs
}

func validatePodAffinityTerms(req []corev1.PodAffinityTerm, pref []corev1.WeightedPodAffinityTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range req {
		errs = append(errs, validatePodAffinityTerm(t, p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i, t := range pref {
		ip := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, validateWeight(t.Weight, ip.Child("weight"))...)
		errs = append(errs, validatePodAffinityTerm(t.PodAffinityTerm, ip.Child("podAffinityTerm"))...)
	}
	return errs
}

func validateTopologySpread(cs []corev1.TopologySpreadConstraint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		ip := p.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(ip.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(ip.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, metav1validation.ValidateLabelName(c.TopologyKey, ip.Child("topologyKey"))...)
		}
		switch c.WhenUnsatisfiable {
		case corev1.DoNotSchedule, corev1.ScheduleAnyway:
		default:
			errs = append(errs, field.NotSupported(ip.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, []corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}))
		}
		errs = append(errs, metav1validation.ValidateLabelSelector(c.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, ip.Child("labelSelector"))...)
	}
	return errs
}

// validateSelectorAndTemplate checks a workload's selector against its pod template, as
// ValidatePodTemplateSpecForReplicaSet and the DaemonSet validation do.
func validateSelectorAndTemplate(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, p *field.Path, what string) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(p.Child("selector"), "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), sel, "empty selector is invalid for "+what))
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), sel, "invalid label selector"))
	} else if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

func validateAlwaysRestart(t *corev1.PodTemplateSpec, p *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(p.Child("template", "spec", "activeDeadlineSeconds"), *t.Spec.ActiveDeadlineSeconds, "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

func intOrPercentValue(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	if v.Type == intstr.String {
		var n int
		if _, err := fmt.Sscanf(v.StrVal, "%d%%", &n); err == nil {
			return n
		}
		return -1
	}
	return v.IntValue()
}

func validatePositiveIntOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
	case intstr.Int:
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(v.IntValue()), p)...)
	}
	return errs
}

func notMoreThan100Percent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil || v.Type != intstr.String || intOrPercentValue(v) <= 100 {
		return nil
	}
	return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	sp := field.NewPath("spec")
	errs := nonNegative(d.Spec.Replicas, sp.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template, sp, "deployment")...)
	errs = append(errs, validatePodTemplate(&d.Spec.Template, sp.Child("template"))...)
	errs = append(errs, validateAlwaysRestart(&d.Spec.Template, sp, "ReplicaSet")...)
	st := d.Spec.Strategy
	stp := sp.Child("strategy")
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(stp.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if st.RollingUpdate == nil {
			errs = append(errs, field.Required(stp.Child("rollingUpdate"), "this should be defaulted and never be nil"))
			break
		}
		rp := stp.Child("rollingUpdate")
		errs = append(errs, validatePositiveIntOrPercent(st.RollingUpdate.MaxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(st.RollingUpdate.MaxSurge, rp.Child("maxSurge"))...)
		if intOrPercentValue(st.RollingUpdate.MaxUnavailable) == 0 && intOrPercentValue(st.RollingUpdate.MaxSurge) == 0 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), st.RollingUpdate.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		errs = append(errs, notMoreThan100Percent(st.RollingUpdate.MaxUnavailable, rp.Child("maxUnavailable"))...)
	default:
		errs = append(errs, field.NotSupported(stp.Child("type"), st.Type, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(d.Spec.MinReadySeconds), sp.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative(d.Spec.RevisionHistoryLimit, sp.Child("revisionHistoryLimit"))...)
	if pds := d.Spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, nonNegative(pds, sp.Child("progressDeadlineSeconds"))...)
		if *pds <= d.Spec.MinReadySeconds {
			errs = append(errs, field.Invalid(sp.Child("progressDeadlineSeconds"), *pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateReplicaSet(r *appsv1.ReplicaSet) field.ErrorList {
	sp := field.NewPath("spec")
	errs := nonNegative(r.Spec.Replicas, sp.Child("replicas"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(r.Spec.MinReadySeconds), sp.Child("minReadySeconds"))...)
	errs = append(errs, validateSelectorAndTemplate(r.Spec.Selector, &r.Spec.Template, sp, "deployment")...)
	errs = append(errs, validatePodTemplate(&r.Spec.Template, sp.Child("template"))...)
	return append(errs, validateAlwaysRestart(&r.Spec.Template, sp, "ReplicaSet")...)
}

func validateDaemonSet(d *appsv1.DaemonSet) field.ErrorList {
	sp := field.NewPath("spec")
	errs := validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template, sp, "daemonset")
	errs = append(errs, validatePodTemplate(&d.Spec.Template, sp.Child("template"))...)
	errs = append(errs, validateAlwaysRestart(&d.Spec.Template, sp, "DaemonSet")...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(d.Spec.MinReadySeconds), sp.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative(d.Spec.RevisionHistoryLimit, sp.Child("revisionHistoryLimit"))...)
	us := d.Spec.UpdateStrategy
	up := sp.Child("updateStrategy")
	switch us.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if us.RollingUpdate == nil {
			errs = append(errs, field.Required(up.Child("rollingUpdate"), ""))
			break
		}
		rp := up.Child("rollingUpdate")
		ru := us.RollingUpdate
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
		errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(ru.MaxSurge, rp.Child("maxSurge"))...)
		hasUnavailable, hasSurge := intOrPercentValue(ru.MaxUnavailable) != 0, intOrPercentValue(ru.MaxSurge) != 0
		switch {
		case hasUnavailable && hasSurge:
			errs = append(errs, field.Invalid(rp.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			errs = append(errs, field.Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
	default:
		errs = append(errs, field.NotSupported(up.Child("type"), us.Type, []appsv1.DaemonSetUpdateStrategyType{appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType}))
	}
	return errs
}

func validateJob(j *batchv1.Job) field.ErrorList {
	sp := field.NewPath("spec")
	s := &j.Spec
	errs := nonNegative(s.Parallelism, sp.Child("parallelism"))
	errs = append(errs, nonNegative(s.Completions, sp.Child("completions"))...)
	errs = append(errs, nonNegative(s.BackoffLimit, sp.Child("backoffLimit"))...)
	if s.ActiveDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*s.ActiveDeadlineSeconds, sp.Child("activeDeadlineSeconds"))...)
	}
	errs = append(errs, nonNegative(s.TTLSecondsAfterFinished, sp.Child("ttlSecondsAfterFinished"))...)
	if s.ManualSelector != nil && *s.ManualSelector {
		errs = append(errs, validateSelectorAndTemplate(s.Selector, &s.Template, sp, "job")...)
	} else if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("selector"))...)
	}
	if s.CompletionMode != nil {
		switch *s.CompletionMode {
		case batchv1.NonIndexedCompletion, batchv1.IndexedCompletion:
		default:
			errs = append(errs, field.NotSupported(sp.Child("completionMode"), *s.CompletionMode, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
		if *s.CompletionMode == batchv1.IndexedCompletion && s.Completions == nil {
			errs = append(errs, field.Required(sp.Child("completions"), "when completion mode is Indexed"))
		}
	}
	errs = append(errs, validatePodTemplate(&s.Template, sp.Child("template"))...)
	if rp := s.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(sp.Child("template", "spec", "restartPolicy"), rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	return errs
}

func validateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	tp := field.NewPath("spec", "taints")
	seen := map[[2]string]bool{}
	for i, t := range n.Spec.Taints {
		ip := tp.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, ip.Child("key"))...)
		if t.Value != "" {
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				errs = append(errs, field.Invalid(ip.Child("value"), t.Value, msg))
			}
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(ip.Child("effect"), ""))
		} else {
			errs = append(errs, validateTaintEffect(t.Effect, ip.Child("effect"))...)
		}
		key := [2]string{t.Key, string(t.Effect)}
		if seen[key] {
			errs = append(errs, field.Duplicate(ip, t))
		}
		seen[key] = true
	}
	return append(errs, validateNodeStatus(&n.Status)...)
}

// validateNodeStatus checks the node's capacity and allocatable, in that order.
func validateNodeStatus(st *corev1.NodeStatus) field.ErrorList {
	var errs field.ErrorList
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"capacity", st.Capacity}, {"allocatable", st.Allocatable}} {
		for _, r := range sortedResourceNames(l.list) {
			errs = append(errs, nonNegativeQuantity(l.list[r], field.NewPath("status", l.name).Key(string(r)))...)
		}
	}
	return errs
}

func validateService(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	headless := s.Spec.ClusterIP == corev1.ClusterIPNone
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	case corev1.ServiceTypeExternalName:
		if s.Spec.ExternalName == "" {
			errs = append(errs, field.Required(sp.Child("externalName"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(s.Spec.ExternalName, ".")) {
				errs = append(errs, field.Invalid(sp.Child("externalName"), s.Spec.ExternalName, msg))
			}
		}
	case "":
		errs = append(errs, field.Required(sp.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(sp.Child("type"), s.Spec.Type, supportedServiceTypes))
	}
	if len(s.Spec.Ports) == 0 && !headless && s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(sp.Child("ports"), ""))
	}
	names := sets.New[string]()
	keys := sets.New[string]()
	for i, port := range s.Spec.Ports {
		ip := sp.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else if port.Name != "" {
			errs = append(errs, validateDNSLabel(port.Name, ip.Child("name"))...)
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		for _, msg := range validation.IsValidPortNum(int(port.Port)) {
			errs = append(errs, field.Invalid(ip.Child("port"), port.Port, msg))
		}
		errs = append(errs, validateProtocol(port.Protocol, ip.Child("protocol"))...)
		errs = append(errs, validatePortNumOrName(port.TargetPort, ip.Child("targetPort"))...)
		if port.NodePort != 0 {
			if s.Spec.Type == corev1.ServiceTypeClusterIP {
				errs = append(errs, field.Forbidden(ip.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
			for _, msg := range validation.IsValidPortNum(int(port.NodePort)) {
				errs = append(errs, field.Invalid(ip.Child("nodePort"), port.NodePort, msg))
			}
		}
		key := fmt.Sprintf("%d/%s", port.Port, port.Protocol)
		if keys.Has(key) {
			errs = append(errs, field.Duplicate(ip, key))
		}
		keys.Insert(key)
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, metav1validation.ValidateLabels(s.Spec.Selector, sp.Child("selector"))...)
	}
	switch s.Spec.SessionAffinity {
	case corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP:
	case "":
		errs = append(errs, field.Required(sp.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(sp.Child("sessionAffinity"), s.Spec.SessionAffinity, supportedAffinities))
	}
	return errs
}

func validateDataKeys[V any](data map[string]V, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	for _, k := range sets.List(sets.New(keys...)) {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(p.Key(k), k, msg))
		}
	}
	return errs
}

func validateConfigMap(c *corev1.ConfigMap) field.ErrorList {
	errs := validateDataKeys(c.Data, field.NewPath("data"))
	errs = append(errs, validateDataKeys(c.BinaryData, field.NewPath("binaryData"))...)
	size := 0
	for k, v := range c.Data {
		size += len(k) + len(v)
		if _, dup := c.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
		}
	}
	for k, v := range c.BinaryData {
		size += len(k) + len(v)
	}
	if size > MaxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", MaxSecretSize))
	}
	return errs
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	dp := field.NewPath("data")
	errs := validateDataKeys(s.Data, dp)
	errs = append(errs, validateDataKeys(s.StringData, field.NewPath("stringData"))...)
	has := func(k string) bool {
		_, a := s.Data[k]
		_, b := s.StringData[k]
		return a || b
	}
	size := 0
	for k, v := range s.Data {
		size += len(k) + len(v)
	}
	for k, v := range s.StringData {
		size += len(k) + len(v)
	}
	if size > MaxSecretSize {
		errs = append(errs, field.TooLong(dp, "", MaxSecretSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		if !has(corev1.DockerConfigKey) {
			errs = append(errs, field.Required(dp.Key(corev1.DockerConfigKey), ""))
		}
	case corev1.SecretTypeDockerConfigJson:
		if !has(corev1.DockerConfigJsonKey) {
			errs = append(errs, field.Required(dp.Key(corev1.DockerConfigJsonKey), ""))
		}
	case corev1.SecretTypeBasicAuth:
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			errs = append(errs, field.Required(dp.Key(corev1.BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dp.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if !has(corev1.SSHAuthPrivateKey) {
			errs = append(errs, field.Required(dp.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if !has(corev1.TLSCertKey) {
			errs = append(errs, field.Required(dp.Key(corev1.TLSCertKey), ""))
		}
		if !has(corev1.TLSPrivateKeyKey) {
			errs = append(errs, field.Required(dp.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// validateEvent applies the rules the API server keeps for core/v1 Events: the event lives
// in its involved object's namespace (or "default" for a cluster-scoped object), and names
// the object and a reason.
func validateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	io := field.NewPath("involvedObject")
	if e.InvolvedObject.Kind == "" {
		errs = append(errs, field.Required(io.Child("kind"), ""))
	}
	if e.InvolvedObject.Namespace != "" && e.InvolvedObject.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(io.Child("namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	if e.Type != "" && e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.NotSupported(field.NewPath("type"), e.Type, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
	}
	return errs
}

func validateEndpointSlice(e *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	switch e.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), e.AddressType, []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}))
	}
	for i, ep := range e.Endpoints {
		ap := field.NewPath("endpoints").Index(i).Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > 100 {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), 100))
		}
		for j, a := range ep.Addresses {
			switch e.AddressType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				ipErrs := validation.IsValidIP(ap.Index(j), a)
				if len(ipErrs) == 0 {
					if is4 := net.ParseIP(a).To4() != nil; is4 != (e.AddressType == discoveryv1.AddressTypeIPv4) {
						ipErrs = append(ipErrs, field.Invalid(ap.Index(j), a, "must be an "+string(e.AddressType)+" address"))
					}
				}
				errs = append(errs, ipErrs...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validateDNSSubdomain(a, ap.Index(j))...)
			}
		}
	}
	for i, port := range e.Ports {
		ip := field.NewPath("ports").Index(i)
		if port.Name != nil && *port.Name != "" {
			errs = append(errs, validateDNSLabel(*port.Name, ip.Child("name"))...)
		}
		if port.Protocol != nil {
			errs = append(errs, validateProtocol(*port.Protocol, ip.Child("protocol"))...)
		}
		if port.Port != nil {
			for _, msg := range validation.IsValidPortNum(int(*port.Port)) {
				errs = append(errs, field.Invalid(ip.Child("port"), *port.Port, msg))
			}
		}
	}
	return errs
}

// systemPriorityClasses are the PriorityClasses the API server creates, by name and value.
var systemPriorityClasses = map[string]int32{
	"system-node-critical":    SystemCriticalPriority + 1000,
	"system-cluster-critical": SystemCriticalPriority,
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		value, known := systemPriorityClasses[pc.Name]
		var why string
		switch {
		case !known:
			why = fmt.Sprintf("%v is not a known system priority class", pc.Name)
		case value != pc.Value:
			why = fmt.Sprintf("value of %v PriorityClass must be %v", pc.Name, value)
		case pc.GlobalDefault:
			why = fmt.Sprintf("globalDefault of %v PriorityClass must be false", pc.Name)
		}
		if why != "" {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+why))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		switch *pc.PreemptionPolicy {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *pc.PreemptionPolicy, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
		}
	}
	return errs
}

func validatePolicyRules(rules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		p := field.NewPath("rules").Index(i)
		if len(r.Verbs) == 0 {
			errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(r.NonResourceURLs) > 0 {
			if namespaced {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(r.APIGroups) == 0 {
			errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(r.Resources) == 0 {
			errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return errs
}

func validateRoleBinding(ref rbacv1.RoleRef, subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	rp := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(rp.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	if namespaced {
		if ref.Kind != "Role" && ref.Kind != "ClusterRole" {
			errs = append(errs, field.NotSupported(rp.Child("kind"), ref.Kind, []string{"ClusterRole", "Role"}))
		}
	} else if ref.Kind != "ClusterRole" {
		errs = append(errs, field.NotSupported(rp.Child("kind"), ref.Kind, []string{"ClusterRole"}))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(rp.Child("name"), ""))
	} else {
		for _, msg := range path.ValidatePathSegmentName(ref.Name, false) {
			errs = append(errs, field.Invalid(rp.Child("name"), ref.Name, msg))
		}
	}
	for i, s := range subjects {
		sp := field.NewPath("subjects").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.Name != "" {
				for _, msg := range apivalidation.NameIsDNSSubdomain(s.Name, false) {
					errs = append(errs, field.Invalid(sp.Child("name"), s.Name, msg))
				}
			}
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if !namespaced && s.Namespace == "" {
				errs = append(errs, field.Required(sp.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(sp.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return errs
}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(sp.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(sp.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	return errs
}

func validatePDB(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	s := pdb.Spec
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(sp, s, "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, validatePositiveIntOrPercent(s.MinAvailable, sp.Child("minAvailable"))...)
	errs = append(errs, notMoreThan100Percent(s.MinAvailable, sp.Child("minAvailable"))...)
	errs = append(errs, validatePositiveIntOrPercent(s.MaxUnavailable, sp.Child("maxUnavailable"))...)
	errs = append(errs, notMoreThan100Percent(s.MaxUnavailable, sp.Child("maxUnavailable"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("selector"))...)
	if p := s.UnhealthyPodEvictionPolicy; p != nil {
		switch *p {
		case policyv1.IfHealthyBudget, policyv1.AlwaysAllow:
		default:
			errs = append(errs, field.NotSupported(sp.Child("unhealthyPodEvictionPolicy"), *p, []policyv1.UnhealthyPodEvictionPolicyType{policyv1.IfHealthyBudget, policyv1.AlwaysAllow}))
		}
	}
	return errs
}

func validateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	ref := h.Spec.ScaleTargetRef
	rp := sp.Child("scaleTargetRef")
	if ref.Kind == "" {
		errs = append(errs, field.Required(rp.Child("kind"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(ref.Kind) {
			errs = append(errs, field.Invalid(rp.Child("kind"), ref.Kind, msg))
		}
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(rp.Child("name"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(ref.Name) {
			errs = append(errs, field.Invalid(rp.Child("name"), ref.Name, msg))
		}
	}
	if m := h.Spec.MinReplicas; m != nil && *m < 1 {
		errs = append(errs, field.Invalid(sp.Child("minReplicas"), *m, "must be greater than or equal to 1"))
	}
	if h.Spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than 0"))
	}
	if m := h.Spec.MinReplicas; m != nil && h.Spec.MaxReplicas < *m {
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	for i, m := range h.Spec.Metrics {
		mp := sp.Child("metrics").Index(i)
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			if m.Resource == nil {
				errs = append(errs, field.Required(mp.Child("resource"), "must populate information for the given metric source"))
			}
		case autoscalingv2.PodsMetricSourceType:
			if m.Pods == nil {
				errs = append(errs, field.Required(mp.Child("pods"), "must populate information for the given metric source"))
			}
		case autoscalingv2.ObjectMetricSourceType:
			if m.Object == nil {
				errs = append(errs, field.Required(mp.Child("object"), "must populate information for the given metric source"))
			}
		case autoscalingv2.ExternalMetricSourceType:
			if m.External == nil {
				errs = append(errs, field.Required(mp.Child("external"), "must populate information for the given metric source"))
			}
		case autoscalingv2.ContainerResourceMetricSourceType:
			if m.ContainerResource == nil {
				errs = append(errs, field.Required(mp.Child("containerResource"), "must populate information for the given metric source"))
			}
		case "":
			errs = append(errs, field.Required(mp.Child("type"), "must specify a metric source type"))
		default:
			errs = append(errs, field.NotSupported(mp.Child("type"), m.Type, []autoscalingv2.MetricSourceType{autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType, autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType}))
		}
	}
	return errs
}
