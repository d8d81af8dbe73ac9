package deployment

import (
	"maps"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestSurgeAndUnavailable(t *testing.T) {
	is := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	tests := []struct {
		replicas       int32
		surge, unavail *intstr.IntOrString
		wantS, wantU   int32
	}{
		{3, nil, nil, 1, 0},  // 25% of 3: surge rounds up, unavailable down
		{4, nil, nil, 1, 1},  // 25% of 4
		{10, nil, nil, 3, 2}, // 2.5 → 3 up, 2 down
		{10, is(intstr.FromInt32(0)), is(intstr.FromInt32(0)), 0, 1}, // both zero: unavailable becomes 1
		{5, is(intstr.FromString("100%")), is(intstr.FromInt32(2)), 5, 2},
	}
	for _, tt := range tests {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &tt.replicas, Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: tt.surge, MaxUnavailable: tt.unavail}}}}
		s, u := surgeAndUnavailable(d)
		if s != tt.wantS || u != tt.wantU {
			t.Errorf("replicas %d surge %v unavailable %v: got %d/%d, want %d/%d", tt.replicas, tt.surge, tt.unavail, s, u, tt.wantS, tt.wantU)
		}
	}
}

func TestNewRSReplicas(t *testing.T) {
	r := func(n int32) *int32 { return &n }
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: r(4), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}}}
	old := []*appsv1.ReplicaSet{{Spec: appsv1.ReplicaSetSpec{Replicas: r(4)}}}
	// maxSurge 1: 4 old + new may total 5.
	nrs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: r(0)}}
	if got := newRSReplicas(d, append(old, nrs), nrs); got != 1 {
		t.Fatalf("first step: %d, want 1", got)
	}
	// 4 old + 1 new = 5 = replicas + maxSurge: no room.
	nrs.Spec.Replicas = r(1)
	if got := newRSReplicas(d, append(old, nrs), nrs); got != 1 {
		t.Fatalf("at the surge limit: %d, want 1", got)
	}
	// After one old pod went: 3 + 1 = 4, one more fits.
	old[0].Spec.Replicas = r(3)
	if got := newRSReplicas(d, append(old, nrs), nrs); got != 2 {
		t.Fatalf("after a scale-down: %d, want 2", got)
	}
}

func TestSetNewRSAnnotations(t *testing.T) {
	d := &appsv1.Deployment{}
	d.Annotations = map[string]string{"team": "a", RevisionAnnotation: "9", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
	d.Spec.Replicas = ptr(4)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
	long := strings.Repeat("1234,", 399) + "1234" // 1999 characters
	tests := []struct {
		name        string
		annotations map[string]string
		exists      bool
		newRevision int64
		want        map[string]string
	}{
		{"new ReplicaSet", nil, false, 1,
			map[string]string{"team": "a", RevisionAnnotation: "1", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5"}},
		{"reused keeps its old revision in history", map[string]string{RevisionAnnotation: "1"}, true, 3,
			map[string]string{"team": "a", RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"}},
		{"history appended", map[string]string{RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"}, true, 5,
			map[string]string{"team": "a", RevisionAnnotation: "5", RevisionHistoryAnnotation: "1,3"}},
		{"history over 2000 characters drops the oldest", map[string]string{RevisionAnnotation: "7", RevisionHistoryAnnotation: long}, true, 8,
			map[string]string{"team": "a", RevisionAnnotation: "8", RevisionHistoryAnnotation: long[5:] + ",7"}},
		{"higher revision kept", map[string]string{RevisionAnnotation: "6"}, true, 2,
			map[string]string{"team": "a", RevisionAnnotation: "6"}},
	}
	for _, tt := range tests {
		rs := &appsv1.ReplicaSet{}
		rs.Annotations = tt.annotations
		setNewRSAnnotations(d, rs, tt.newRevision, tt.exists)
		if !maps.Equal(rs.Annotations, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, rs.Annotations, tt.want)
		}
	}
}

func TestProportion(t *testing.T) {
	rs := func(n int32, maxReplicas string) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptr(n)}}
		if maxReplicas != "" {
			r.Annotations = map[string]string{MaxReplicasAnnotation: maxReplicas}
		}
		return r
	}
	d := func(n, statusReplicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr(n), Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}},
			Status: appsv1.DeploymentStatus{Replicas: statusReplicas}}
	}
	tests := []struct {
		name         string
		rs           *appsv1.ReplicaSet
		d            *appsv1.Deployment
		toAdd, added int32
		want         int32
	}{
		{"scale up by size", rs(8, "13"), d(20, 13), 12, 0, 7},        // round(8*25/13) - 8
		{"capped by what is left", rs(5, "13"), d(20, 13), 12, 10, 2}, // round(5*25/13) - 5 = 5, 2 left
		{"scale down", rs(15, "25"), d(5, 25), -18, 0, -11},           // round(15*7/25) - 15
		{"to zero: all of it", rs(3, "5"), d(0, 5), -5, 0, -3},
		{"no annotation: status replicas", rs(2, ""), d(8, 4), 6, 0, 3}, // round(2*10/4) - 2
		{"empty ReplicaSet gets nothing", rs(0, "5"), d(8, 4), 6, 0, 0},
	}
	for _, tt := range tests {
		if got := proportion(tt.rs, tt.d, tt.toAdd, tt.added); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestLastRevision(t *testing.T) {
	rs := func(rev string) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{}
		r.Annotations = map[string]string{RevisionAnnotation: rev}
		return r
	}
	all := []*appsv1.ReplicaSet{rs("3"), rs("7"), rs("x"), rs("5")}
	if got := lastRevision(all); got != 5 {
		t.Fatalf("last revision %d, want 5", got)
	}
	if got := maxRevision(all); got != 7 {
		t.Fatalf("max revision %d, want 7", got)
	}
}
