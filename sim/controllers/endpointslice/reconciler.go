package endpointslice

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/endpointslice/endpointsliceutil"
)

// endpointMeta is what slices are grouped by: ports and address type.
type endpointMeta struct {
	ports       []discoveryv1.EndpointPort
	addressType discoveryv1.AddressType
}

// portMapKey identifies a set of endpoint ports regardless of their order.
func portMapKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		var name, proto, app string
		var num int32
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if p.AppProtocol != nil {
			app = *p.AppProtocol
		}
		if p.Port != nil {
			num = *p.Port
		}
		parts[i] = fmt.Sprintf("%s/%d/%s/%s", name, num, proto, app)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// addressTypes returns the address types the Service's slices carry: its ipFamilies, or —
// since Orrery's API server does not default ipFamilies — the family of its clusterIP,
// IPv4 for an unallocated or headless one (a single-stack IPv4 cluster, as kind's default).
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	if len(out) > 0 {
		return out
	}
	if ip := net.ParseIP(svc.Spec.ClusterIP); ip != nil && ip.To4() == nil {
		return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
	}
	return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
}

func (c *Controller) reconcile(svc *corev1.Service, pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice, trigger time.Time) error {
	types := addressTypes(svc)
	supported := map[discoveryv1.AddressType]bool{}
	for _, t := range types {
		supported[t] = true
	}
	var errs []error
	var toDelete []*discoveryv1.EndpointSlice
	byType := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !supported[s.AddressType] {
			toDelete = append(toDelete, s)
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	for _, t := range types {
		if err := c.reconcileByAddressType(svc, pods, byType[t], trigger, t); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range toDelete {
		if err := c.deleteSlice(svc, s); err != nil {
			errs = append(errs, fmt.Errorf("error deleting %s EndpointSlice for Service %s/%s: %w", s.Name, svc.Namespace, svc.Name, err))
		}
	}
	return utilerrors.NewAggregate(errs)
}

func (c *Controller) reconcileByAddressType(svc *corev1.Service, pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice, trigger time.Time, addressType discoveryv1.AddressType) error {
	var errs []error
	var toCreate, toUpdate, toDelete []*discoveryv1.EndpointSlice

	existingByPorts := map[string][]*discoveryv1.EndpointSlice{}
	var existingOrder []string
	for _, s := range existing {
		if !ownedBy(s, svc) {
			toDelete = append(toDelete, s)
			continue
		}
		k := portMapKey(s.Ports)
		if _, ok := existingByPorts[k]; !ok {
			existingOrder = append(existingOrder, k)
		}
		existingByPorts[k] = append(existingByPorts[k], s)
	}

	desiredMeta := map[string]*endpointMeta{}
	desired := map[string]*endpointSet{}
	var desiredOrder []string
	for _, p := range pods {
		if !endpointsliceutil.ShouldPodBeInEndpoints(p, true) {
			continue
		}
		ports := endpointPorts(svc, p)
		k := portMapKey(ports)
		if _, ok := desired[k]; !ok {
			desired[k] = newEndpointSet()
			desiredMeta[k] = &endpointMeta{ports: ports, addressType: addressType}
			desiredOrder = append(desiredOrder, k)
		}
		var node *corev1.Node
		if obj, ok := c.nodes.Get("", p.Spec.NodeName); ok {
			node = obj.(*corev1.Node)
		} else if !svc.Spec.PublishNotReadyAddresses {
			// The pod's node is gone: publish the slice without the pod and retry later.
			errs = append(errs, fmt.Errorf("skipping Pod %s for Service %s/%s: Node %s Not Found", p.Name, svc.Namespace, svc.Name, p.Spec.NodeName))
			continue
		}
		ep := podToEndpoint(p, node, svc, addressType)
		if len(ep.Addresses) > 0 {
			desired[k].insert(&ep)
		}
	}

	for _, k := range desiredOrder {
		c1, u1, d1 := c.reconcileByPortMapping(svc, existingByPorts[k], desired[k], desiredMeta[k])
		toCreate = append(toCreate, c1...)
		toUpdate = append(toUpdate, u1...)
		toDelete = append(toDelete, d1...)
	}
	for _, k := range existingOrder {
		if _, ok := desired[k]; !ok {
			toDelete = append(toDelete, existingByPorts[k]...)
		}
	}

	// A Service with no endpoints keeps one empty placeholder slice.
	if len(existing) == len(toDelete) && len(toCreate) < 1 {
		placeholder := newSlice(svc, &endpointMeta{ports: []discoveryv1.EndpointPort{}, addressType: addressType})
		if len(toDelete) == 1 && isSamePlaceholder(toDelete[0], placeholder) {
			toDelete = toDelete[:0]
		} else {
			toCreate = append(toCreate, placeholder)
		}
	}

	if err := c.finalize(svc, toCreate, toUpdate, toDelete, trigger); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// reconcileByPortMapping computes the slices to create, update and delete for one port
// mapping with the least churn, as upstream: (1) keep the desired endpoints each existing
// slice already holds, updating changed ones and dropping unwanted ones; (2) fill the
// slices already being updated, fullest first; (3) put what is left into the unchanged
// slice it fills closest to full, else into new slices.
func (c *Controller) reconcileByPortMapping(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, want *endpointSet, meta *endpointMeta) (toCreate, toUpdate, toDelete []*discoveryv1.EndpointSlice) {
	max := int(c.maxPerSlice)
	byName := map[string]*discoveryv1.EndpointSlice{}
	var unchanged, update, remove []string

	for _, s := range existing {
		byName[s.Name] = s
		keep := []discoveryv1.Endpoint{}
		changed := false
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
			if got := want.get(ep); got != nil {
				keep = append(keep, *got)
				if !equalBeyondKey(got, ep) {
					changed = true
				}
				want.remove(ep)
			}
		}
		lbls, labelsChanged := sliceLabels(s, svc)
		switch {
		case changed || len(s.Endpoints) != len(keep):
			if len(keep) == 0 {
				remove = append(remove, s.Name)
			} else {
				next := s.DeepCopy()
				next.Endpoints = keep
				next.Labels = lbls
				byName[s.Name] = next
				update = append(update, s.Name)
			}
		case labelsChanged:
			next := s.DeepCopy()
			next.Labels = lbls
			byName[s.Name] = next
			update = append(update, s.Name)
		default:
			unchanged = append(unchanged, s.Name)
		}
	}

	if want.len() > 0 && len(update) > 0 {
		slices := make([]*discoveryv1.EndpointSlice, len(update))
		for i, n := range update {
			slices[i] = byName[n]
		}
		sort.SliceStable(slices, func(i, j int) bool { return len(slices[i].Endpoints) > len(slices[j].Endpoints) })
		for _, s := range slices {
			for want.len() > 0 && len(s.Endpoints) < max {
				s.Endpoints = append(s.Endpoints, *want.pop())
			}
		}
	}

	for want.len() > 0 {
		var fill *discoveryv1.EndpointSlice
		if want.len() < max && len(unchanged) > 0 {
			cands := make([]*discoveryv1.EndpointSlice, len(unchanged))
			for i, n := range unchanged {
				cands[i] = byName[n]
			}
			fill = sliceToFill(cands, want.len(), max)
		}
		if fill == nil {
			fill = newSlice(svc, meta)
		} else {
			fill = fill.DeepCopy()
			byName[fill.Name] = fill
		}
		for want.len() > 0 && len(fill.Endpoints) < max {
			fill.Endpoints = append(fill.Endpoints, *want.pop())
		}
		if fill.Name != "" {
			update = append(update, fill.Name)
			unchanged = removeName(unchanged, fill.Name)
		} else {
			toCreate = append(toCreate, fill)
		}
	}

	sort.Strings(update)
	sort.Strings(remove)
	for _, n := range update {
		toUpdate = append(toUpdate, byName[n])
	}
	for _, n := range remove {
		toDelete = append(toDelete, byName[n])
	}
	return toCreate, toUpdate, toDelete
}

func removeName(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

// sliceToFill returns the slice that n more endpoints fill closest to max, if any fits.
func sliceToFill(slices []*discoveryv1.EndpointSlice, n, max int) *discoveryv1.EndpointSlice {
	closest := max
	var best *discoveryv1.EndpointSlice
	for _, s := range slices {
		diff := max - (n + len(s.Endpoints))
		if diff >= 0 && diff < closest {
			closest, best = diff, s
			if diff == 0 {
				break
			}
		}
	}
	return best
}

// finalize writes the changes: creates that a deletion can absorb become updates of the
// slice being deleted; nothing is created for a Service being deleted.
func (c *Controller) finalize(svc *corev1.Service, toCreate, toUpdate, toDelete []*discoveryv1.EndpointSlice, trigger time.Time) error {
	for i := 0; i < len(toDelete) && len(toCreate) > 0; {
		del := toDelete[i]
		s := toCreate[len(toCreate)-1]
		if del.AddressType == s.AddressType && ownedBy(del, svc) {
			s.Name = del.Name
			s.ResourceVersion = del.ResourceVersion
			s.UID = del.UID
			toCreate = toCreate[:len(toCreate)-1]
			toUpdate = append(toUpdate, s)
			toDelete = append(toDelete[:i], toDelete[i+1:]...)
		} else {
			i++
		}
	}
	if svc.DeletionTimestamp == nil {
		for _, s := range toCreate {
			setTriggerTime(s, trigger)
			obj, err := c.client.Create(s)
			if err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				return fmt.Errorf("failed to create EndpointSlice for Service %s/%s: %w", svc.Namespace, svc.Name, err)
			}
			created := obj.(*discoveryv1.EndpointSlice)
			c.tracker.update(created)
			c.log.Action(c.identity, "EndpointSliceCreated", "endpointslices", created.Namespace, created.Name,
				fmt.Sprintf("Created EndpointSlice %s for Service %s/%s with %d endpoints", created.Name, svc.Namespace, svc.Name, len(created.Endpoints)))
		}
	}
	for _, s := range toUpdate {
		setTriggerTime(s, trigger)
		obj, err := c.client.Update(s)
		if err != nil {
			return fmt.Errorf("failed to update %s EndpointSlice for Service %s/%s: %w", s.Name, svc.Namespace, svc.Name, err)
		}
		updated := obj.(*discoveryv1.EndpointSlice)
		c.tracker.update(updated)
		c.log.Action(c.identity, "EndpointSliceUpdated", "endpointslices", updated.Namespace, updated.Name,
			fmt.Sprintf("Updated EndpointSlice %s for Service %s/%s to %d endpoints", updated.Name, svc.Namespace, svc.Name, len(updated.Endpoints)))
	}
	for _, s := range toDelete {
		if err := c.deleteSlice(svc, s); err != nil {
			return fmt.Errorf("failed to delete %s EndpointSlice for Service %s/%s: %w", s.Name, svc.Namespace, svc.Name, err)
		}
	}
	return nil
}

// deleteSlice deletes a slice, tolerating one already gone.
func (c *Controller) deleteSlice(svc *corev1.Service, s *discoveryv1.EndpointSlice) error {
	if _, err := c.client.Delete("endpointslices", s.Namespace, s.Name, apiserver.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	c.tracker.expectDeletion(s)
	c.log.Action(c.identity, "EndpointSliceDeleted", "endpointslices", s.Namespace, s.Name,
		fmt.Sprintf("Deleted EndpointSlice %s of Service %s/%s", s.Name, svc.Namespace, svc.Name))
	return nil
}

func setTriggerTime(s *discoveryv1.EndpointSlice, t time.Time) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if t.IsZero() {
		delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
	} else {
		s.Annotations[corev1.EndpointsLastChangeTriggerTime] = endpointsliceutil.FormatTriggerTime(t)
	}
}

// podToEndpoint builds a pod's endpoint: serving is the pod's readiness, terminating its
// deletion, and ready is serving and not terminating — or always, with
// publishNotReadyAddresses.
func podToEndpoint(p *corev1.Pod, node *corev1.Node, svc *corev1.Service, addressType discoveryv1.AddressType) discoveryv1.Endpoint {
	serving := endpointsliceutil.IsPodReady(p)
	terminating := p.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  endpointAddresses(p, addressType),
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if p.Spec.NodeName != "" {
		n := p.Spec.NodeName
		ep.NodeName = &n
	}
	if node != nil && node.Labels[corev1.LabelTopologyZone] != "" {
		z := node.Labels[corev1.LabelTopologyZone]
		ep.Zone = &z
	}
	if endpointsliceutil.ShouldSetHostname(p, svc) {
		h := p.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

func endpointAddresses(p *corev1.Pod, addressType discoveryv1.AddressType) []string {
	out := []string{}
	for _, s := range endpointsliceutil.PodIPs(p) {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		if v6 := ip.To4() == nil; v6 == (addressType == discoveryv1.AddressTypeIPv6) {
			out = append(out, ip.String())
		}
	}
	return out
}

// endpointPorts resolves the Service's ports against a pod; ports the pod lacks are left
// out (a headless Service may have none).
func endpointPorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, err := endpointsliceutil.FindPort(p, sp)
		if err != nil {
			continue
		}
		name, proto, port := sp.Name, sp.Protocol, int32(num)
		ep := discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto}
		if sp.AppProtocol != nil {
			a := *sp.AppProtocol
			ep.AppProtocol = &a
		}
		out = append(out, ep)
	}
	return out
}

// newSlice returns a new slice for the Service, owned by it, named after it.
func newSlice(svc *corev1.Service, meta *endpointMeta) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       svc.Namespace,
			GenerateName:    slicePrefix(svc.Name),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, schema.GroupVersionKind{Version: "v1", Kind: "Service"})},
			Labels:          map[string]string{},
		},
		Ports:       meta.ports,
		AddressType: meta.addressType,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	s.Labels, _ = sliceLabels(s, svc)
	return s
}

// slicePrefix is "<service>-", or the bare name when the dash would make it invalid.
func slicePrefix(name string) string {
	if p := name + "-"; len(validation.NameIsDNSSubdomain(p, true)) == 0 {
		return p
	}
	return name
}

func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

func isReservedLabel(k string) bool {
	return k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService
}

// sliceLabels returns the labels a slice of the Service carries — the Service's own, the
// headless marker, service-name and managed-by — and whether the Service's own differ from
// the slice's.
func sliceLabels(s *discoveryv1.EndpointSlice, svc *corev1.Service) (map[string]string, bool) {
	have, want := map[string]string{}, map[string]string{}
	for k, v := range s.Labels {
		if !isReservedLabel(k) {
			have[k] = v
		}
	}
	for k, v := range svc.Labels {
		if !isReservedLabel(k) {
			want[k] = v
		}
	}
	changed := !labels.Equals(have, want)
	if !endpointsliceutil.IsServiceIPSet(svc) {
		want[corev1.IsHeadlessService] = ""
	}
	want[discoveryv1.LabelServiceName] = svc.Name
	want[discoveryv1.LabelManagedBy] = ControllerName
	return want, changed
}

// isSamePlaceholder reports whether an existing slice is the placeholder that would be
// created: same namespace, labels, owners, address type, and no ports or endpoints.
func isSamePlaceholder(s, p *discoveryv1.EndpointSlice) bool {
	if s.Namespace != p.Namespace || !labels.Equals(s.Labels, p.Labels) || s.AddressType != p.AddressType ||
		len(s.Endpoints) != 0 || len(s.Ports) != 0 || len(s.OwnerReferences) != len(p.OwnerReferences) {
		return false
	}
	for i := range s.OwnerReferences {
		if s.OwnerReferences[i].String() != p.OwnerReferences[i].String() {
			return false
		}
	}
	return true
}

// errStaleCache is returned when the slice cache lags the controller's own writes.
var errStaleCache = errors.New("EndpointSlice informer cache is out of date")
