package job

import (
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

func (c *Controller) addHandlers() {
	c.jobs.AddHandler(informer.Handler{
		OnAdd:    func(obj runtime.Object) { c.queue.Add(informer.Key(obj)) },
		OnUpdate: c.updateJob,
		OnDelete: c.deleteJob,
	})
	c.pods.AddHandler(informer.Handler{
		OnAdd:    c.addPod,
		OnUpdate: c.updatePod,
		OnDelete: func(obj runtime.Object) { c.deletePod(obj.(*corev1.Pod), true) },
	})
}

// updateJob syncs a Job at once when its spec changed and after the batch period
// otherwise; it re-arms the active deadline when activeDeadlineSeconds changed.
func (c *Controller) updateJob(oldObj, curObj runtime.Object) {
	old, cur := oldObj.(*batchv1.Job), curObj.(*batchv1.Job)
	key := informer.Key(cur)
	if cur.Generation == old.Generation {
		c.enqueueBatched(key)
	} else {
		c.queue.Add(key)
	}
	// A finished Job's pods should have no finalizer left; this is a backup.
	if isFinished(cur) {
		c.cleanupPodFinalizers(cur)
	}
	if cur.Status.StartTime != nil && cur.Spec.ActiveDeadlineSeconds != nil {
		if old.Spec.ActiveDeadlineSeconds == nil || *old.Spec.ActiveDeadlineSeconds != *cur.Spec.ActiveDeadlineSeconds {
			total := time.Duration(*cur.Spec.ActiveDeadlineSeconds) * time.Second
			c.queue.AddAfter(key, total-c.clock.Now().Sub(cur.Status.StartTime.Time))
		}
	}
}

func (c *Controller) deleteJob(obj runtime.Object) {
	c.queue.Add(informer.Key(obj))
	c.cleanupPodFinalizers(obj.(*batchv1.Job))
}

// cleanupPodFinalizers queues the Job's pods that still carry the tracking finalizer for
// its removal.
func (c *Controller) cleanupPodFinalizers(j *batchv1.Job) {
	for _, o := range c.pods.ByIndex(controllers.IndexOwner, string(j.UID)) {
		if p := o.(*corev1.Pod); metav1.IsControlledBy(p, j) && hasTrackingFinalizer(p) {
			c.orphans.Add(informer.Key(p))
		}
	}
}

// resolve returns the Job a controller reference points to, if it is in the cache with
// the same UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *batchv1.Job {
	if ref.Kind != "Job" {
		return nil
	}
	obj, ok := c.jobs.Get(ns, ref.Name)
	if !ok {
		return nil
	}
	j := obj.(*batchv1.Job)
	if j.UID != ref.UID {
		return nil
	}
	return j
}

func (c *Controller) addPod(obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod, false)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		j := c.resolve(pod.Namespace, ref)
		if j == nil {
			return
		}
		key := informer.Key(j)
		c.creationObserved(key)
		c.enqueueBatched(key)
		return
	}
	if hasTrackingFinalizer(pod) {
		c.orphans.Add(informer.Key(pod))
	}
}

func (c *Controller) updatePod(oldObj, curObj runtime.Object) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if cur.ResourceVersion == old.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		// A graceful deletion: the Job may replace the pod now rather than when it is gone.
		c.deletePod(cur, false)
		return
	}
	removed := !hasTrackingFinalizer(cur)
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	if changed := !reflect.DeepEqual(curRef, oldRef); changed && oldRef != nil {
		if j := c.resolve(old.Namespace, oldRef); j != nil {
			key := informer.Key(j)
			if removed {
				c.finalizerRemovalObserved(key, cur.UID)
			}
			c.enqueueBatched(key)
		}
	}
	if curRef != nil {
		j := c.resolve(cur.Namespace, curRef)
		if j == nil {
			return
		}
		key := informer.Key(j)
		if removed {
			c.finalizerRemovalObserved(key, cur.UID)
		}
		c.enqueueBatched(key)
		return
	}
	if hasTrackingFinalizer(cur) {
		c.orphans.Add(informer.Key(cur))
	}
}

// deletePod handles a pod deleted (final) or marked for deletion.
func (c *Controller) deletePod(pod *corev1.Pod, final bool) {
	ref := metav1.GetControllerOf(pod)
	has := hasTrackingFinalizer(pod)
	if ref == nil {
		if has {
			c.orphans.Add(informer.Key(pod))
		}
		return
	}
	j := c.resolve(pod.Namespace, ref)
	if j == nil || isFinished(j) {
		// The Job's sync will not remove this finalizer.
		if has {
			c.orphans.Add(informer.Key(pod))
		}
		return
	}
	key := informer.Key(j)
	c.deletionObserved(key)
	if final || !has {
		c.finalizerRemovalObserved(key, pod.UID)
	}
	c.enqueueBatched(key)
}

// syncOrphanPod removes the tracking finalizer from a pod whose Job is gone or finished.
func (c *Controller) syncOrphanPod(key string) error {
	ns, name := informer.SplitKey(key)
	obj, ok := c.pods.Get(ns, name)
	if !ok {
		return nil
	}
	pod := obj.(*corev1.Pod)
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
			return nil
		}
		if j := c.resolve(pod.Namespace, ref); j != nil && (managedByOther(j) || !isFinished(j)) {
			return nil
		}
	}
	if err := c.removeFinalizer(pod); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
