package defaultbinder

import (
	"errors"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

type fakeClient struct {
	got *corev1.Binding
	err error
}

func (c *fakeClient) Bind(b *corev1.Binding) error      { c.got = b; return c.err }
func (c *fakeClient) DeletePod(string, string) error    { return nil }
func (c *fakeClient) UpdatePodStatus(*corev1.Pod) error { return nil }

type fakeHandle struct{ c *fakeClient }

func (h fakeHandle) NodeInfos() []*framework.NodeInfo            { return nil }
func (h fakeHandle) NodeInfo(string) (*framework.NodeInfo, bool) { return nil, false }
func (h fakeHandle) NamespaceLabels(string) map[string]string    { return nil }
func (h fakeHandle) Rand() *rand.Rand                            { return nil }
func (h fakeHandle) Client() framework.Client                    { return h.c }

func TestBind(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}}
	for _, fail := range []bool{false, true} {
		c := &fakeClient{}
		if fail {
			c.err = errors.New("conflict")
		}
		p, err := NewDefaultBinder(nil, fakeHandle{c})
		if err != nil {
			t.Fatal(err)
		}
		st := p.(framework.BindPlugin).Bind(framework.NewCycleState(), pod, "n1")
		b := c.got
		if b == nil || b.Namespace != "ns" || b.Name != "p" || b.UID != "u1" || b.Target.Kind != "Node" || b.Target.Name != "n1" {
			t.Fatalf("binding %+v", b)
		}
		if fail && (st.Code() != framework.Error || st.Message() != "conflict") {
			t.Errorf("failed bind: status %v %q", st.Code(), st.Message())
		}
		if !fail && !st.IsSuccess() {
			t.Errorf("bind: status %v", st.Message())
		}
	}
	if _, err := NewDefaultBinder(nil, nil); err == nil {
		t.Error("factory without a handle: want an error")
	}
}
