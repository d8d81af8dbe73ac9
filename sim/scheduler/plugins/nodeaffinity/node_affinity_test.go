package nodeaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	configv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

func node(name string, labels map[string]string) *framework.NodeInfo {
	return framework.NewNodeInfo(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
}

func req(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func term(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: exprs}
}

func requiredPod(selector map[string]string, terms ...corev1.NodeSelectorTerm) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: selector}}
	if terms != nil {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	return p
}

func mustNew(t *testing.T, args *configv1.NodeAffinityArgs) *NodeAffinity {
	t.Helper()
	var p framework.Plugin
	var err error
	if args == nil {
		p, err = New(nil, nil)
	} else {
		p, err = New(args, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.(*NodeAffinity)
}

func TestFilter(t *testing.T) {
	plain := mustNew(t, nil)
	added := mustNew(t, &configv1.NodeAffinityArgs{AddedAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term(req("zone", corev1.NodeSelectorOpIn, "foo"))}}}})
	nameIn := func(names ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req(metav1.ObjectNameField, corev1.NodeSelectorOpIn, names...)}}
	}
	tests := []struct {
		name      string
		pl        *NodeAffinity
		pod       *corev1.Pod
		node      *framework.NodeInfo
		preFilter framework.Code
		code      framework.Code
		reason    string
	}{
		{"no constraints", plain, requiredPod(nil), node("n", nil), framework.Skip, framework.Success, ""},
		{"nodeSelector matches", plain, requiredPod(map[string]string{"foo": "bar"}), node("n", map[string]string{"foo": "bar", "x": "y"}), framework.Success, framework.Success, ""},
		{"nodeSelector misses", plain, requiredPod(map[string]string{"foo": "bar"}), node("n", map[string]string{"foo": "baz"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		{"In matches", plain, requiredPod(nil, term(req("foo", corev1.NodeSelectorOpIn, "bar", "value2"))), node("n", map[string]string{"foo": "value2"}), framework.Success, framework.Success, ""},
		{"NotIn excludes", plain, requiredPod(nil, term(req("foo", corev1.NodeSelectorOpNotIn, "bar"))), node("n", map[string]string{"foo": "bar"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		{"Gt compares numbers", plain, requiredPod(nil, term(req("kernel", corev1.NodeSelectorOpGt, "4"))), node("n", map[string]string{"kernel": "10"}), framework.Success, framework.Success, ""},
		{"DoesNotExist", plain, requiredPod(nil, term(req("gpu", corev1.NodeSelectorOpDoesNotExist))), node("n", map[string]string{"gpu": "yes"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		// Expressions within a term are ANDed, terms are ORed.
		{"terms ORed", plain, requiredPod(nil, term(req("foo", corev1.NodeSelectorOpExists), req("bar", corev1.NodeSelectorOpExists)), term(req("baz", corev1.NodeSelectorOpExists))),
			node("n", map[string]string{"baz": "1"}), framework.Success, framework.Success, ""},
		{"expressions ANDed", plain, requiredPod(nil, term(req("foo", corev1.NodeSelectorOpExists), req("bar", corev1.NodeSelectorOpExists))),
			node("n", map[string]string{"foo": "1"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		// nodeSelector and affinity must both hold.
		{"selector and affinity both needed", plain, requiredPod(map[string]string{"a": "1"}, term(req("b", corev1.NodeSelectorOpExists))),
			node("n", map[string]string{"b": "x"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		// An empty term list matches nothing.
		{"no terms matches nothing", plain, &corev1.Pod{Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}}}, node("n", map[string]string{"a": "1"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		{"metadata.name field", plain, requiredPod(nil, nameIn("n1")), node("n1", nil), framework.Success, framework.Success, ""},
		{"metadata.name other node", plain, requiredPod(nil, nameIn("n1")), node("n2", nil), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		{"metadata.name conflict", plain, requiredPod(nil, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			req(metav1.ObjectNameField, corev1.NodeSelectorOpIn, "n1"), req(metav1.ObjectNameField, corev1.NodeSelectorOpIn, "n2")}}), node("n1", nil),
			framework.UnschedulableAndUnresolvable, framework.UnschedulableAndUnresolvable, ErrReasonPod},
		// Added affinity is checked first and has its own reason.
		{"added affinity", added, requiredPod(nil), node("n", map[string]string{"zone": "bar"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonEnforced},
		{"added affinity holds, pod's misses", added, requiredPod(map[string]string{"a": "1"}), node("n", map[string]string{"zone": "foo"}), framework.Success, framework.UnschedulableAndUnresolvable, ErrReasonPod},
	}
	for _, tt := range tests {
		state := framework.NewCycleState()
		if st := tt.pl.PreFilter(state, tt.pod); st.Code() != tt.preFilter {
			t.Errorf("%s: PreFilter %v %q, want %v", tt.name, st.Code(), st.Message(), tt.preFilter)
		} else if st.Code() == framework.UnschedulableAndUnresolvable && st.Message() != ErrReasonConflict {
			t.Errorf("%s: PreFilter reason %q", tt.name, st.Message())
		}
		for _, s := range []*framework.CycleState{state, framework.NewCycleState()} {
			st := tt.pl.Filter(s, tt.pod, tt.node)
			if st.Code() != tt.code || st.Message() != tt.reason {
				t.Errorf("%s: Filter %v %q, want %v %q", tt.name, st.Code(), st.Message(), tt.code, tt.reason)
			}
		}
	}
}

func preferredPod(terms ...corev1.PreferredSchedulingTerm) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}}}}
}

func TestScore(t *testing.T) {
	pref := func(w int32, exprs ...corev1.NodeSelectorRequirement) corev1.PreferredSchedulingTerm {
		return corev1.PreferredSchedulingTerm{Weight: w, Preference: term(exprs...)}
	}
	pod := preferredPod(pref(2, req("foo", corev1.NodeSelectorOpIn, "bar")), pref(4, req("key", corev1.NodeSelectorOpIn, "value")), pref(5, req("az", corev1.NodeSelectorOpIn, "az1")))
	nodes := []*framework.NodeInfo{
		node("n1", map[string]string{"foo": "bar"}),
		node("n2", map[string]string{"foo": "bar", "key": "value"}),
		node("n3", map[string]string{"foo": "bar", "key": "value", "az": "az1"}),
		node("n4", map[string]string{"other": "x"}),
	}
	withAdded := &configv1.NodeAffinityArgs{AddedAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{pref(11, req("other", corev1.NodeSelectorOpExists))}}}
	tests := []struct {
		name string
		args *configv1.NodeAffinityArgs
		pod  *corev1.Pod
		raw  []int64
		want []int64
	}{
		// Sums 2, 6, 11, 0; normalised 100*2/11 = 18, 100*6/11 = 54, 100, 0.
		{"weights summed and normalised", nil, pod, []int64{2, 6, 11, 0}, []int64{18, 54, 100, 0}},
		// Added preferred terms add to the pod's: n4 gains 11 → max 11 on n3 and n4.
		{"added preferred terms", withAdded, pod, []int64{2, 6, 11, 11}, []int64{18, 54, 100, 100}},
		{"no preferences", nil, &corev1.Pod{}, []int64{0, 0, 0, 0}, []int64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		pl := mustNew(t, tt.args)
		state := framework.NewCycleState()
		st := pl.PreScore(state, tt.pod, nodes)
		if tt.name == "no preferences" && st.Code() != framework.Skip {
			t.Errorf("%s: PreScore %v, want Skip", tt.name, st.Code())
		}
		scores := make([]framework.NodeScore, len(nodes))
		for i, n := range nodes {
			s, _ := pl.Score(state, tt.pod, n)
			if s != tt.raw[i] {
				t.Errorf("%s: %s raw score %d, want %d", tt.name, n.Name(), s, tt.raw[i])
			}
			scores[i] = framework.NodeScore{Name: n.Name(), Score: s}
		}
		pl.NormalizeScore(state, tt.pod, scores)
		for i := range scores {
			if scores[i].Score != tt.want[i] {
				t.Errorf("%s: %s normalised %d, want %d", tt.name, scores[i].Name, scores[i].Score, tt.want[i])
			}
		}
	}
}

func TestNewArgs(t *testing.T) {
	if _, err := New(&configv1.NodeResourcesFitArgs{}, nil); err == nil {
		t.Error("wrong args type accepted")
	}
	bad := &configv1.NodeAffinityArgs{AddedAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{term(req("foo", corev1.NodeSelectorOpGt, "not-a-number"))}}}}
	if _, err := New(bad, nil); err == nil {
		t.Error("malformed addedAffinity accepted")
	}
}

func BenchmarkFilterNodeSelector(b *testing.B) {
	pl, _ := New(nil, nil)
	na := pl.(*NodeAffinity)
	pod := requiredPod(map[string]string{"pool": "general"})
	n := node("n", map[string]string{"pool": "general", "zone": "a"})
	state := framework.NewCycleState()
	na.PreFilter(state, pod)
	b.ReportAllocs()
	for b.Loop() {
		if !na.Filter(state, pod, n).IsSuccess() {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkFilterNoConstraints(b *testing.B) {
	pl, _ := New(nil, nil)
	na := pl.(*NodeAffinity)
	pod := requiredPod(nil)
	n := node("n", map[string]string{"pool": "general"})
	state := framework.NewCycleState()
	na.PreFilter(state, pod)
	b.ReportAllocs()
	for b.Loop() {
		na.Filter(state, pod, n)
	}
}
