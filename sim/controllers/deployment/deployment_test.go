package deployment

import (
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
