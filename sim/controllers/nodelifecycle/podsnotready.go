package nodelifecycle

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// EventSource is the component name of the controller's events.
const EventSource = "node-controller"

// markPodsNotReady sets the Ready condition of every pod on the node to False, as
// upstream's MarkPodsNotReady does when the controller finds a ready node's kubelet
// silent: nobody else will, and endpoints must stop sending traffic to them. Each pod
// gets a NodeNotReady event.
func (c *Controller) markPodsNotReady(node string) {
	list, err := c.client.List("pods", "", apiserver.Filter{NodeName: node}, false)
	if err != nil {
		return
	}
	now := metav1.NewTime(c.clock.Now())
	for _, obj := range list.Items {
		pod := obj.(*corev1.Pod)
		if pod.Spec.NodeName != node {
			continue
		}
		for i := range pod.Status.Conditions {
			cond := &pod.Status.Conditions[i]
			if cond.Type != corev1.PodReady || cond.Status == corev1.ConditionFalse {
				continue
			}
			cond.Status, cond.LastTransitionTime = corev1.ConditionFalse, now
			if _, err := c.client.UpdateStatus(pod); err != nil {
				if !apierrors.IsNotFound(err) {
					c.log.Action(c.identity, "FailedMarkPodNotReady", "pods", pod.Namespace, pod.Name, err.Error())
				}
				break
			}
			c.log.Action(c.identity, "MarkedPodNotReady", "pods", pod.Namespace, pod.Name, fmt.Sprintf("Updating ready status of pod %s/%s to false: node %s is not ready", pod.Namespace, pod.Name, node))
			_ = c.recorder.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
			break
		}
	}
}
