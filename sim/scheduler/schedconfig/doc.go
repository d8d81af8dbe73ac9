// Package schedconfig reads kube-scheduler's own configuration file, a
// KubeSchedulerConfiguration of kubescheduler.config.k8s.io/v1, and builds Orrery's scheduling
// profiles from it, as kube-scheduler does at start-up: decode strictly (each plugin's args
// into its typed *Args struct), default (upstream's SetDefaults_KubeSchedulerConfiguration and
// the plugin args defaulters), validate, then instantiate every plugin of a profile once
// through a framework.Registry and place it at each extension point it is enabled at, with
// upstream's MultiPoint expansion and ordering.
//
// The default plugin set is Kubernetes 1.34's (upstream's getDefaultPlugins) less the plugins
// Orrery does not model: the volume plugins (VolumeRestrictions, NodeVolumeLimits,
// VolumeBinding, VolumeZone, and the removed EBSLimits, GCEPDLimits, AzureDiskLimits) and
// DynamicResources, which upstream adds before DefaultPreemption when dynamic resource
// allocation is enabled. A configuration that names one of them gets "unknown plugin".
//
// Two departures from upstream, both deliberate: percentageOfNodesToScore stays nil when
// unset (upstream defaults it to 0; both mean adaptive), and a pluginConfig entry naming a
// plugin the scheduler does not know is an error (upstream ignores it).
package schedconfig
