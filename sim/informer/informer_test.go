package informer_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orrery-sim/orrery/sim/apiserver"
	"github.com/orrery-sim/orrery/sim/eventlog"
	"github.com/orrery-sim/orrery/sim/informer"
	"github.com/orrery-sim/orrery/sim/loop"
)

func cm(name, tier string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"tier": tier}}}
}

func TestListWatchHandlersAndIndex(t *testing.T) {
	l := loop.New(1)
	s, err := apiserver.New(l, eventlog.New(l.Elapsed), apiserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.ClientFor(apiserver.User{Name: apiserver.AdminUser, Groups: []string{apiserver.MastersGroup}})
	if _, err := admin.Create(cm("b", "web")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(cm("a", "db")); err != nil {
		t.Fatal(err)
	}
	inf := informer.New(admin, "configmaps", "default", apiserver.Filter{})
	inf.AddIndex("tier", func(o runtime.Object) []string { return []string{o.(*corev1.ConfigMap).Labels["tier"]} })
	var seen []string
	inf.AddHandler(informer.Handler{
		OnAdd:    func(o runtime.Object) { seen = append(seen, "add "+o.(*corev1.ConfigMap).Name) },
		OnUpdate: func(_, o runtime.Object) { seen = append(seen, "update "+o.(*corev1.ConfigMap).Name) },
		OnDelete: func(o runtime.Object) { seen = append(seen, "delete "+o.(*corev1.ConfigMap).Name) },
	})
	if err := inf.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(cm("c", "web")); err != nil {
		t.Fatal(err)
	}
	obj, _ := admin.Get("configmaps", "default", "b")
	b := obj.(*corev1.ConfigMap)
	b.Labels["tier"] = "db"
	if _, err := admin.Update(b); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Delete("configmaps", "default", "a", apiserver.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if inf.Len() != 2 {
		t.Fatalf("the cache changed before the watch latency: %d items", inf.Len())
	}
	l.RunFor(time.Second)
	if got := strings.Join(seen, ", "); got != "add a, add b, add c, update b, delete a" {
		t.Fatalf("handlers saw %s", got)
	}
	names := func(objs []runtime.Object) string {
		var out []string
		for _, o := range objs {
			out = append(out, o.(*corev1.ConfigMap).Name)
		}
		return fmt.Sprint(out)
	}
	if got := names(inf.List()); got != "[b c]" {
		t.Fatalf("List = %s", got)
	}
	if got := names(inf.ByIndex("tier", "db")); got != "[b]" {
		t.Fatalf("ByIndex(db) = %s (the update must move b)", got)
	}
	if got := names(inf.ByIndex("tier", "web")); got != "[c]" {
		t.Fatalf("ByIndex(web) = %s", got)
	}
	// Stop empties the cache; Start lists again.
	inf.Stop()
	if inf.Len() != 0 {
		t.Fatal("Stop kept the cache")
	}
	if err := inf.Start(); err != nil || inf.Len() != 2 {
		t.Fatalf("restart: %v, %d items", err, inf.Len())
	}
}
