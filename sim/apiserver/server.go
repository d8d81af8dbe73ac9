package apiserver

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/model"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
	"github.com/orrery-sim/orrery/sim/store"
)

// Defaults of the API server, named once.
const (
	// DefaultWatchLatency is how long a write takes to reach watchers.
	DefaultWatchLatency = 5 * time.Millisecond
	// DefaultCompactionInterval is kube-apiserver's --etcd-compaction-interval.
	DefaultCompactionInterval = 5 * time.Minute
	// SystemUser is the identity the API server itself writes bootstrap objects as.
	SystemUser = "system:apiserver"
)

// Options configure a Server.
type Options struct {
	// WatchLatency delays every watch event after its write; 0 means DefaultWatchLatency,
	// a negative value means none.
	WatchLatency time.Duration
	// CompactionInterval is how often the store is compacted to the revision seen one
	// interval earlier; 0 means DefaultCompactionInterval, negative disables compaction.
	CompactionInterval time.Duration
}

// Server is the simulated kube-apiserver.
type Server struct {
	clock   loop.Clock
	store   *store.Store
	log     *eventlog.Log
	authn   authenticator
	authz   Authorizer
	rbac    *rbacAuthorizer
	rand    *rand.Rand
	latency time.Duration
	watches map[string]*resourceWatch
	// lastDelivery keeps watch delivery in revision order when the latency changes.
	lastDelivery time.Time
	watcherSeq   uint64
	admission    []admissionPlugin
	// cut are the nodes cut off from the control plane; heldBy their watchers holding
	// events until they reconnect.
	cut    map[string]bool
	heldBy map[string][]*watcher
}

// New returns an API server over a fresh store, with the bootstrap namespaces, RBAC policy
// and priority classes created, and compaction scheduled on clock.
func New(clock loop.Clock, log *eventlog.Log, opts Options) (*Server, error) {
	s := &Server{
		clock:   clock,
		store:   store.New(),
		log:     log,
		authn:   authenticator{tokens: map[string]User{}},
		rand:    clock.Rand("apiserver"),
		watches: map[string]*resourceWatch{},
	}
	s.SetWatchLatency(opts.WatchLatency)
	s.rbac = newRBAC(s)
	s.authz = chain{privilegedGroups{}, newNodeAuthorizer(nodeRules()), s.rbac}
	s.admission = defaultAdmission()
	sys := User{Name: SystemUser, Groups: []string{MastersGroup}}
	for _, group := range [][]runtime.Object{bootstrapNamespaceObjects(), bootstrapPolicy(), bootstrapPriorityClasses()} {
		for _, obj := range group {
			if _, err := s.create(sys, obj); err != nil {
				return nil, fmt.Errorf("bootstrap %T: %w", obj, err)
			}
		}
	}
	interval := opts.CompactionInterval
	if interval == 0 {
		interval = DefaultCompactionInterval
	}
	if interval > 0 {
		s.scheduleCompaction(interval, 0)
	}
	return s, nil
}

// SetWatchLatency changes the watch delivery latency (0 means the default, negative none).
func (s *Server) SetWatchLatency(d time.Duration) {
	switch {
	case d == 0:
		d = DefaultWatchLatency
	case d < 0:
		d = 0
	}
	s.latency = d
}

// Store exposes the underlying store for inspection (tests, metrics); components must never
// write to it.
func (s *Server) Store() *store.Store { return s.store }

// AddToken makes token authenticate as u.
func (s *Server) AddToken(token string, u User) {
	u.Groups = append(append([]string(nil), u.Groups...), AuthenticatedGroup)
	s.authn.tokens[token] = u
}

// ClientFor registers a token for u and returns a client that sends it.
func (s *Server) ClientFor(u User) *Client {
	token := "token:" + u.Name
	s.AddToken(token, u)
	return &Client{s: s, token: token}
}

// Client returns a client that authenticates with token (which may be unknown: its requests
// then fail with 401).
func (s *Server) Client(token string) *Client { return &Client{s: s, token: token} }

func (s *Server) scheduleCompaction(interval time.Duration, target int64) {
	s.clock.After(interval, func() {
		if target > s.store.CompactRevision() {
			_ = s.store.Compact(target) // target <= Rev always; an error only means nothing to do
		}
		s.scheduleCompaction(interval, s.store.Rev())
	})
}

// storageKey is the store key of an object, as kube-apiserver lays out etcd.
func storageKey(k *model.Kind, ns, name string) string {
	if k.Namespaced {
		return "/registry/" + k.Resource + "/" + ns + "/" + name
	}
	return "/registry/" + k.Resource + "/" + name
}

func storagePrefix(k *model.Kind, ns string) string {
	if k.Namespaced && ns != "" {
		return "/registry/" + k.Resource + "/" + ns + "/"
	}
	return "/registry/" + k.Resource + "/"
}

// rangeResource calls fn for every stored object of resource (in namespace ns if not
// empty), in key order. Internal reads by the API server's own plugins use it.
func (s *Server) rangeResource(resource, ns string, fn func(obj any)) {
	k, ok := model.LookupResource(resource)
	if !ok {
		return
	}
	s.store.Range(storagePrefix(k, ns), func(kv store.KeyValue) bool {
		fn(kv.Value)
		return true
	})
}

// getStored returns the stored (shared, read-only) object.
func (s *Server) getStored(resource, ns, name string) (runtime.Object, bool) {
	k, ok := model.LookupResource(resource)
	if !ok {
		return nil, false
	}
	kv, ok := s.store.Get(storageKey(k, ns, name))
	if !ok {
		return nil, false
	}
	return kv.Value.(runtime.Object), true
}

// newUID returns a random (seeded) RFC 4122 version 4 UID.
func (s *Server) newUID() types.UID {
	a, b := s.rand.Uint64(), s.rand.Uint64()
	a = a&^0xf000 | 0x4000     // version 4
	b = b&^(0xc<<60) | 0x8<<60 // variant 10
	return types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff))
}

// generateNameSuffix returns 5 characters from the alphabet Kubernetes uses for generated
// names (no vowels, no confusable digits).
func (s *Server) generateNameSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[s.rand.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *Server) now() metav1.Time { return metav1.NewTime(s.clock.Now()) }

// record writes one API request to the event log.
func (s *Server) record(u User, verb string, k *model.Kind, sub, ns, name string, rev int64, err error) {
	if s.log == nil {
		return
	}
	e := eventlog.Entry{Actor: u.Name, Verb: verb, Namespace: ns, Name: name, Revision: rev, Code: 200}
	if k != nil {
		e.Resource = k.Resource
		if sub != "" {
			e.Resource += "/" + sub
		}
	}
	if verb == "create" && err == nil && sub == "" {
		e.Code = 201
	}
	if err != nil {
		st := apierrors.APIStatus(nil)
		if se, ok := err.(apierrors.APIStatus); ok {
			st = se
		}
		if st != nil {
			e.Code = int(st.Status().Code)
			e.Reason = string(st.Status().Reason)
		} else {
			e.Code = 500
		}
		e.Message = err.Error()
	}
	s.log.Append(e)
}

// parseRV reads a resourceVersion; "" is 0.
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

func accessor(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil { // every registered kind has ObjectMeta; a failure is a programming error
		panic(fmt.Sprintf("apiserver: %T has no object metadata: %v", obj, err))
	}
	return m
}

// WatchLatency returns the current watch delivery latency.
func (s *Server) WatchLatency() time.Duration { return s.latency }
