package daemonset

import (
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers"
	"github.com/orrery-sim/orrery/sim/informer"
)

func (c *Controller) satisfied(key string) bool { return c.expect.Satisfied(key) }

// sync reconciles one DaemonSet, as upstream's syncDaemonSet.
func (c *Controller) sync(key string) error {
	if now := c.clock.Now(); now.Sub(c.lastGC) >= BackoffGCInterval {
		c.backoff.gc(now)
		c.lastGC = now
	}
	ns, name := informer.SplitKey(key)
	obj, ok := c.dss.Get(ns, name)
	if !ok {
		c.expect.Delete(key)
		return nil
	}
	ds := obj.(*appsv1.DaemonSet)
	if ds.Spec.Selector == nil || (len(ds.Spec.Selector.MatchLabels) == 0 && len(ds.Spec.Selector.MatchExpressions) == 0) {
		c.event(ds, corev1.EventTypeWarning, ReasonSelectingAll, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	// Being deleted: its revisions may be gone, so no pod template can be trusted.
	if ds.DeletionTimestamp != nil {
		return nil
	}
	cur, old, err := c.constructHistory(ds)
	if err != nil {
		return fmt.Errorf("construct history of DaemonSet %s: %w", key, err)
	}
	st := c.newState(key, ds, cur)
	if !c.satisfied(key) {
		// Status only; observedGeneration stays, as this generation was not acted on.
		return c.updateStatus(st, false)
	}
	err = c.update(st, old)
	if serr := c.updateStatus(st, true); serr != nil && err == nil {
		err = serr
	}
	return err
}

// state is what one sync knows of a DaemonSet, read once from the caches (which do not
// change during a sync: the controller's own writes reach them through the watch later).
type state struct {
	key   string
	ds    *appsv1.DaemonSet
	nodes []*corev1.Node
	// run and keep are NodeShouldRunDaemonPod's answers for nodes[i].
	run, keep []bool
	// byNode maps node names to the DaemonSet's pods for them.
	byNode map[string][]*corev1.Pod
	hash   string
	// gen is the template generation, as the pod-template-generation label spells it.
	gen string
}

func (c *Controller) newState(key string, ds *appsv1.DaemonSet, cur *appsv1.ControllerRevision) *state {
	st := &state{key: key, ds: ds, nodes: c.nodeList(), byNode: c.nodeToDaemonPods(ds),
		hash: cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey], gen: strconv.FormatInt(templateGeneration(ds, cur), 10)}
	elig := newEligibility(ds)
	st.run = make([]bool, len(st.nodes))
	st.keep = make([]bool, len(st.nodes))
	for i, n := range st.nodes {
		st.run[i], st.keep[i] = elig.check(n)
	}
	return st
}

// templateGeneration is the DaemonSet's template generation: the API server's
// deprecated.daemonset.template.generation annotation when present, else the current
// revision's number (which upstream's generation equals when each template change is
// observed).
func templateGeneration(ds *appsv1.DaemonSet, cur *appsv1.ControllerRevision) int64 {
	if v, ok := ds.Annotations[AnnotationTemplateGeneration]; ok {
		if g, err := strconv.ParseInt(v, 10, 64); err == nil {
			return g
		}
	}
	return cur.Revision
}

func (c *Controller) update(st *state, old []*appsv1.ControllerRevision) error {
	if err := c.manage(st); err != nil {
		return err
	}
	if c.satisfied(st.key) && st.ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if err := c.rollingUpdate(st); err != nil {
			return err
		}
	}
	if err := c.cleanupHistory(st.ds, old); err != nil {
		return fmt.Errorf("failed to clean up revisions of DaemonSet: %w", err)
	}
	return nil
}

// nodeList returns every cached node, in name order.
func (c *Controller) nodeList() []*corev1.Node {
	objs := c.nodes.List()
	out := make([]*corev1.Node, len(objs))
	for i, o := range objs {
		out[i] = o.(*corev1.Node)
	}
	return out
}

// ownedPods returns the pods the DaemonSet controls, in name order.
func (c *Controller) ownedPods(ds *appsv1.DaemonSet) []*corev1.Pod {
	objs := c.pods.ByIndex(controllers.IndexOwner, string(ds.UID))
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}

// nodeToDaemonPods maps node names to the DaemonSet's pods for them. Terminal pods being
// deleted are left out: nothing remains to be done with them.
func (c *Controller) nodeToDaemonPods(ds *appsv1.DaemonSet) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, p := range c.ownedPods(ds) {
		if p.DeletionTimestamp != nil && isTerminal(p) {
			continue
		}
		node, err := targetNodeName(p)
		if err != nil {
			continue // not a pod this controller could have made; upstream logs and skips it
		}
		out[node] = append(out[node], p)
	}
	return out
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// manage creates the daemon pods eligible nodes lack and deletes those of ineligible
// nodes, failed ones and duplicates, as upstream's manage.
func (c *Controller) manage(st *state) error {
	ds, nodes, byNode := st.ds, st.nodes, st.byNode
	var create, del []string
	for i, node := range nodes {
		cr, dl := c.podsShouldBeOnNode(ds, st.run[i], st.keep[i], node, byNode[node.Name], st.hash)
		create = append(create, cr...)
		del = append(del, dl...)
	}
	// Pods never scheduled whose node is gone: nothing else would ever delete them.
	exists := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		exists[n.Name] = true
	}
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if exists[n] {
			continue
		}
		for _, p := range byNode[n] {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				del = append(del, p.Name)
			}
		}
	}
	return c.syncNodes(st, del, create)
}

// podsShouldBeOnNode returns whether node needs a new daemon pod and which of its daemon
// pods to delete, as upstream's function of the same name.
func (c *Controller) podsShouldBeOnNode(ds *appsv1.DaemonSet, shouldRun, shouldContinue bool, node *corev1.Node, pods []*corev1.Pod, hash string) (create, del []string) {
	exists := len(pods) > 0
	switch {
	case shouldRun && !exists:
		return []string{node.Name}, nil
	case shouldContinue:
		var running []*corev1.Pod
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodFailed:
				// Fighting a kubelet that keeps rejecting the pod must not hot-loop.
				// Keyed as upstream: a new observed generation starts a fresh back-off.
				bkey := fmt.Sprintf("%s/%d/%s", ds.UID, ds.Status.ObservedGeneration, node.Name)
				now := c.clock.Now()
				if c.backoff.inBackoff(bkey, now) {
					c.queue.AddAfter(informer.Key(ds), c.backoff.get(bkey))
					continue
				}
				c.backoff.next(bkey, now)
				c.event(ds, corev1.EventTypeWarning, ReasonFailedDaemonPod, fmt.Sprintf("Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name))
				del = append(del, p.Name)
			case corev1.PodSucceeded:
				c.event(ds, corev1.EventTypeNormal, ReasonSucceededDaemonPod, fmt.Sprintf("Found succeeded daemon pod %s/%s on node %s, will try to delete it", p.Namespace, p.Name, node.Name))
				del = append(del, p.Name)
			default:
				running = append(running, p)
			}
		}
		if !allowsSurge(ds) {
			// Without surge, only the oldest pod stays.
			if len(running) > 1 {
				sortByCreation(running)
				for _, p := range running[1:] {
					del = append(del, p.Name)
				}
			}
			return nil, del
		}
		if len(running) <= 1 {
			if len(running) == 0 && shouldRun {
				create = append(create, node.Name)
			}
			return create, del
		}
		// With surge, two pods may share a node only while the oldest new one is not yet
		// available and the oldest old one is ready; all others go.
		sortByCreation(running)
		var oldestNew, oldestOld *corev1.Pod
		for _, p := range running {
			if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
				if oldestNew == nil {
					oldestNew = p
					continue
				}
			} else if oldestOld == nil {
				oldestOld = p
				continue
			}
			del = append(del, p.Name)
		}
		if oldestNew != nil && oldestOld != nil {
			if !isPodReady(oldestOld) || controllers.IsPodAvailable(oldestNew, ds.Spec.MinReadySeconds, c.clock.Now()) {
				del = append(del, oldestOld.Name)
			}
		}
		return create, del
	case exists:
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				del = append(del, p.Name)
			}
		}
	}
	return nil, del
}

// sortByCreation orders pods bound first, then oldest first, then by name.
func sortByCreation(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// syncNodes deletes podsToDelete and creates a pod for each node of nodesNeeding, within
// the burst limit, creating in slow-start batches, as upstream's syncNodes. Writes are
// made one after another in the order given (node name order), which is upstream's
// behaviour with its concurrent writes serialised.
func (c *Controller) syncNodes(st *state, podsToDelete, nodesNeeding []string) error {
	key, ds := st.key, st.ds
	createDiff := min(len(nodesNeeding), c.opts.BurstReplicas)
	deleteDiff := min(len(podsToDelete), c.opts.BurstReplicas)
	if createDiff == 0 && deleteDiff == 0 {
		return nil
	}
	c.expect.Expect(key, createDiff, deleteDiff)
	template := podTemplate(ds, st.gen, st.hash)
	var errs []error
	batch := min(createDiff, SlowStartInitialBatchSize)
	for pos := 0; pos < createDiff; pos, batch = pos+batch, min(2*batch, createDiff-(pos+batch)) {
		failed := 0
		for i := pos; i < pos+batch; i++ {
			if err := c.createPod(ds, template, nodesNeeding[i]); err != nil {
				c.expect.Lower(key, 1, 0)
				failed++
				errs = append(errs, err)
			}
		}
		if skipped := createDiff - (pos + batch); failed > 0 && skipped > 0 {
			// The rest waits for the next sync, which restarts the slow start.
			c.expect.Lower(key, skipped, 0)
			break
		}
	}
	for _, name := range podsToDelete[:deleteDiff] {
		if err := c.deletePodNamed(ds, name); err != nil {
			c.expect.Lower(key, 0, 1)
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sync DaemonSet %s: %d error(s), first: %w", key, len(errs), errs[0])
	}
	return nil
}

// podTemplate is the template of the DaemonSet's new pods: its own with the default
// tolerations and the pod-template-generation and controller-revision-hash labels.
func podTemplate(ds *appsv1.DaemonSet, gen, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	addDefaultTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[LabelTemplateGeneration] = gen
	if hash != "" {
		t.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	}
	return t
}

func (c *Controller) createPod(ds *appsv1.DaemonSet, template *corev1.PodTemplateSpec, node string) error {
	t := template.DeepCopy()
	// Upstream's getPodsPrefix: name- unless that is no valid name prefix.
	prefix := ds.Name + "-"
	if len(validation.IsDNS1123Subdomain(ds.Name+"a")) != 0 {
		prefix = ds.Name
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       ds.Namespace,
			GenerateName:    prefix,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Spec: t.Spec,
	}
	pod.Spec.Affinity = nodeNameAffinity(pod.Spec.Affinity, node)
	created, err := c.client.Create(pod)
	if err != nil {
		msg := fmt.Sprintf("Error creating: %v", err)
		c.event(ds, corev1.EventTypeWarning, ReasonFailedCreate, msg)
		c.log.Action(c.identity, ReasonFailedCreate, "daemonsets", ds.Namespace, ds.Name, msg)
		return fmt.Errorf("create daemon pod for node %s: %w", node, err)
	}
	msg := "Created pod: " + created.(*corev1.Pod).Name
	c.event(ds, corev1.EventTypeNormal, ReasonSuccessfulCreate, msg)
	c.log.Action(c.identity, ReasonSuccessfulCreate, "daemonsets", ds.Namespace, ds.Name, msg+" on node "+node)
	return nil
}

func (c *Controller) deletePodNamed(ds *appsv1.DaemonSet, name string) error {
	if _, err := c.client.Delete("pods", ds.Namespace, name, apiserver.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		msg := fmt.Sprintf("Error deleting: %v", err)
		c.event(ds, corev1.EventTypeWarning, ReasonFailedDelete, msg)
		c.log.Action(c.identity, ReasonFailedDelete, "daemonsets", ds.Namespace, ds.Name, msg)
		return fmt.Errorf("unable to delete pods: %w", err)
	}
	msg := "Deleted pod: " + name
	c.event(ds, corev1.EventTypeNormal, ReasonSuccessfulDelete, msg)
	c.log.Action(c.identity, ReasonSuccessfulDelete, "daemonsets", ds.Namespace, ds.Name, msg)
	return nil
}

// event records a core/v1 Event about the DaemonSet; a failure to record is dropped, as
// upstream's recorder drops it.
func (c *Controller) event(ds *appsv1.DaemonSet, eventType, reason, msg string) {
	_ = c.recorder.Event(ds, eventType, reason, msg)
}
