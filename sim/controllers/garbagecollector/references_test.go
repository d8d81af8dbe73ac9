package garbagecollector_test

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/controllers/garbagecollector"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/loop"
)

// TestOwnerReferences checks how the collector judges a dependent's references, each
// owner read live from the API server: all owners absent (missing, or replaced under the
// same name) deletes it; a remaining owner keeps it and drops the references to absent
// ones; an owner in another namespace is reported and counts as absent; a kind the server
// does not serve leaves the dependent alone.
func TestOwnerReferences(t *testing.T) {
	cmRef := func(name string, uid types.UID) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: uid}
	}
	cases := []struct {
		name string
		ns   string
		// refs builds the dependent's references from the owner's UID.
		refs func(owner types.UID) []metav1.OwnerReference
		// keep: the dependent stays, with wantRefs references (by name).
		keep     bool
		wantRefs []string
		warning  string
	}{
		{"owner exists", "default", func(u types.UID) []metav1.OwnerReference { return []metav1.OwnerReference{cmRef("owner", u)} }, true, []string{"owner"}, ""},
		{"owner never existed", "default", func(types.UID) []metav1.OwnerReference {
			return []metav1.OwnerReference{cmRef("ghost", "00000000-0000-4000-8000-000000000001")}
		}, false, nil, ""},
		{"owner replaced under the same name", "default", func(types.UID) []metav1.OwnerReference {
			return []metav1.OwnerReference{cmRef("owner", "00000000-0000-4000-8000-000000000002")}
		}, false, nil, ""},
		{"one owner left", "default", func(u types.UID) []metav1.OwnerReference {
			return []metav1.OwnerReference{cmRef("ghost", "00000000-0000-4000-8000-000000000003"), cmRef("owner", u)}
		}, true, []string{"owner"}, ""},
		{"owner in another namespace", "kube-system", func(u types.UID) []metav1.OwnerReference { return []metav1.OwnerReference{cmRef("owner", u)} }, false, nil,
			`ownerRef [v1/ConfigMap, namespace: kube-system, name: owner, uid: %UID%] does not exist in namespace "kube-system"`},
		{"kind not served", "default", func(types.UID) []metav1.OwnerReference {
			return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "00000000-0000-4000-8000-000000000004"}}
		}, true, []string{"db"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := loop.New(1)
			log := eventlog.New(l.Elapsed)
			api, err := apiserver.New(l, log, apiserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			admin := api.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})
			gc := garbagecollector.New(l, log, api.ClientFor(apiserver.User{Name: apiserver.ControllerManagerUser}))
			if err := gc.Start(); err != nil {
				t.Fatal(err)
			}
			owner, err := admin.Create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "owner"}})
			if err != nil {
				t.Fatal(err)
			}
			uid := owner.(*corev1.ConfigMap).UID
			dep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "dep", OwnerReferences: tc.refs(uid)}}
			if _, err := admin.Create(dep); err != nil {
				t.Fatal(err)
			}
			l.RunFor(10 * time.Second)
			got, err := admin.Get("configmaps", tc.ns, "dep")
			if !tc.keep {
				if err == nil {
					t.Fatalf("the dependent must be collected: %v", got.(*corev1.ConfigMap).OwnerReferences)
				}
			} else {
				if err != nil {
					t.Fatalf("the dependent must stay: %v", err)
				}
				var names []string
				for _, r := range got.(*corev1.ConfigMap).OwnerReferences {
					names = append(names, r.Name)
				}
				if !reflect.DeepEqual(names, tc.wantRefs) {
					t.Fatalf("references %v, want %v", names, tc.wantRefs)
				}
			}
			if _, err := admin.Get("configmaps", "default", "owner"); err != nil {
				t.Fatalf("the owner must stay: %v", err)
			}
			res, err := admin.List("events", "", apiserver.Filter{}, false)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			for _, o := range res.Items {
				ev := o.(*corev1.Event)
				if ev.Reason == garbagecollector.ReasonOwnerRefInvalidNamespace && ev.Type == corev1.EventTypeWarning && ev.Source.Component == garbagecollector.Component {
					warnings = append(warnings, ev.Message)
				}
			}
			want := []string(nil)
			if tc.warning != "" {
				want = []string{replaceUID(tc.warning, uid)}
			}
			if !reflect.DeepEqual(warnings, want) {
				t.Fatalf("warnings %q, want %q", warnings, want)
			}
		})
	}
}

func replaceUID(s string, uid types.UID) string {
	const marker = "%UID%"
	for i := 0; i+len(marker) <= len(s); i++ {
		if s[i:i+len(marker)] == marker {
			return s[:i] + string(uid) + s[i+len(marker):]
		}
	}
	return s
}
