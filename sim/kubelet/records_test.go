package kubelet

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestContainerRecords: a new instance of a container replaces the previous one's record,
// and the records list by pod UID, then container name.
func TestContainerRecords(t *testing.T) {
	pod := func(uid string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID("u" + uid)}}
	}
	cfg := func(p *corev1.Pod, name, id string, attempt int32) ContainerConfig {
		return ContainerConfig{ID: id, Pod: p, Container: &corev1.Container{Name: name}, Attempt: attempt}
	}
	b, a := pod("b"), pod("a")
	rs := ContainerRecords{}
	rs.Record(cfg(b, "web", "1", 0))
	rs.Record(cfg(a, "side", "2", 0))
	rs.Record(cfg(a, "app", "3", 0))
	rs.Record(cfg(b, "web", "4", 1)) // web restarted
	var got [][2]string
	for _, c := range rs.List() {
		got = append(got, [2]string{string(c.Pod.UID) + "/" + c.Name, c.ID})
		if c.State != ContainerCreated {
			t.Errorf("%s: state %v, want created", c.Name, c.State)
		}
	}
	want := [][2]string{{"ua/app", "3"}, {"ua/side", "2"}, {"ub/web", "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records %v, want %v", got, want)
	}
}
