package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// envConfigError returns upstream's message for a container whose environment refers to
// a missing ConfigMap or Secret (or key) that is not optional, or "".
func (k *Kubelet) envConfigError(pod *corev1.Pod, c *corev1.Container) string {
	ns := pod.Namespace
	for _, from := range c.EnvFrom {
		if r := from.ConfigMapRef; r != nil && !isTrue(r.Optional) {
			if _, msg := k.configMap(ns, r.Name); msg != "" {
				return msg
			}
		}
		if r := from.SecretRef; r != nil && !isTrue(r.Optional) {
			if _, msg := k.secret(ns, r.Name); msg != "" {
				return msg
			}
		}
	}
	for _, env := range c.Env {
		if env.ValueFrom == nil {
			continue
		}
		if r := env.ValueFrom.ConfigMapKeyRef; r != nil && !isTrue(r.Optional) {
			cm, msg := k.configMap(ns, r.Name)
			if msg != "" {
				return msg
			}
			_, inData := cm.Data[r.Key]
			_, inBinary := cm.BinaryData[r.Key]
			if !inData && !inBinary {
				return fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", r.Key, ns, r.Name)
			}
		}
		if r := env.ValueFrom.SecretKeyRef; r != nil && !isTrue(r.Optional) {
			s, msg := k.secret(ns, r.Name)
			if msg != "" {
				return msg
			}
			_, inData := s.Data[r.Key]
			_, inString := s.StringData[r.Key]
			if !inData && !inString {
				return fmt.Sprintf("couldn't find key %s in Secret %s/%s", r.Key, ns, r.Name)
			}
		}
	}
	return ""
}

// volumeError returns the first ConfigMap or Secret volume whose (non-optional) source
// is missing, and upstream's message for it.
func (k *Kubelet) volumeError(pod *corev1.Pod) (string, string) {
	ns := pod.Namespace
	for _, v := range pod.Spec.Volumes {
		if cm := v.ConfigMap; cm != nil && !isTrue(cm.Optional) {
			if _, msg := k.configMap(ns, cm.Name); msg != "" {
				return v.Name, msg
			}
		}
		if s := v.Secret; s != nil && !isTrue(s.Optional) {
			if _, msg := k.secret(ns, s.SecretName); msg != "" {
				return v.Name, msg
			}
		}
		if p := v.Projected; p != nil {
			for _, src := range p.Sources {
				if cm := src.ConfigMap; cm != nil && !isTrue(cm.Optional) {
					if _, msg := k.configMap(ns, cm.Name); msg != "" {
						return v.Name, msg
					}
				}
				if s := src.Secret; s != nil && !isTrue(s.Optional) {
					if _, msg := k.secret(ns, s.Name); msg != "" {
						return v.Name, msg
					}
				}
			}
		}
	}
	return "", ""
}

func isTrue(b *bool) bool { return b != nil && *b }

func (k *Kubelet) configMap(ns, name string) (*corev1.ConfigMap, string) {
	obj, err := k.client.Get("configmaps", ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("configmap %q not found", name)
		}
		return nil, fmt.Sprintf("failed to get configmap %s/%s: %v", ns, name, err)
	}
	return obj.(*corev1.ConfigMap), ""
}

func (k *Kubelet) secret(ns, name string) (*corev1.Secret, string) {
	obj, err := k.client.Get("secrets", ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("secret %q not found", name)
		}
		return nil, fmt.Sprintf("failed to get secret %s/%s: %v", ns, name, err)
	}
	return obj.(*corev1.Secret), ""
}
