package apiserver

import (
	"errors"
	"fmt"
	"sort"
)

// ErrUnreachable is the error of every request made from a node cut off from the control
// plane (see Server.CutOff): the connection times out, as client-go reports it, and the
// request never reaches the API server.
var ErrUnreachable = errors.New("i/o timeout")

// unreachable is the error a request from a cut-off node fails with.
func unreachable(node string) error {
	return fmt.Errorf("dial tcp %s: %w (node %s is cut off from the control plane)", ControlPlaneAddress, ErrUnreachable, node)
}

// ControlPlaneAddress is the API server's address as components dial it.
const ControlPlaneAddress = "control-plane:6443"

// ClientOn returns a client for u whose requests come from the named node, so that they
// fail while the node is cut off from the control plane; a kubelet's and a node's
// kube-proxy's clients are made this way.
func (s *Server) ClientOn(u User, node string) *Client {
	c := s.ClientFor(u)
	c.node = node
	return c
}

// CutOff cuts the named nodes off from the control plane, as a network partition does:
// their clients' requests fail with ErrUnreachable, and their watches receive nothing
// until the node is reconnected. Nothing else changes: their containers keep running.
func (s *Server) CutOff(nodes ...string) {
	if s.cut == nil {
		s.cut = map[string]bool{}
	}
	for _, n := range nodes {
		s.cut[n] = true
	}
}

// Reconnect ends CutOff for the named nodes. Their watches resume from the last event they
// received, as a reflector re-establishing its watch from its resourceVersion does: the
// events held during the partition are delivered now, in order.
func (s *Server) Reconnect(nodes ...string) {
	var flush []*watcher
	for _, n := range nodes {
		if !s.cut[n] {
			continue
		}
		delete(s.cut, n)
		flush = append(flush, s.heldBy[n]...)
		delete(s.heldBy, n)
	}
	sort.Slice(flush, func(i, j int) bool { return flush[i].id < flush[j].id })
	var ds []delivery
	for _, w := range flush {
		for _, ev := range w.held {
			ds = append(ds, delivery{w, ev})
		}
		w.held = nil
	}
	if len(ds) > 0 {
		s.deliver(ds)
	}
}

// CutOffNodes returns the nodes currently cut off from the control plane, sorted.
func (s *Server) CutOffNodes() []string {
	out := make([]string, 0, len(s.cut))
	for n := range s.cut {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsCutOff reports whether the node is cut off from the control plane.
func (s *Server) IsCutOff(node string) bool { return s.cut[node] }

// reachable returns the error of a request from node, or nil when it gets through.
func (s *Server) reachable(node string) error {
	if node != "" && s.cut[node] {
		return unreachable(node)
	}
	return nil
}

// hold keeps an event for a watcher on a cut-off node until it reconnects.
func (s *Server) hold(w *watcher, ev WatchEvent) {
	if len(w.held) == 0 {
		if s.heldBy == nil {
			s.heldBy = map[string][]*watcher{}
		}
		s.heldBy[w.node] = append(s.heldBy[w.node], w)
	}
	w.held = append(w.held, ev)
}
