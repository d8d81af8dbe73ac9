package gpushare_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare"
	"github.com/orrery-sim/orrery/sim/scheduler/plugins/gpushare/gputest"
)

func TestAdmit(t *testing.T) {
	node := gputest.Node("n", "T4", 2, 32000)
	admitted := []*corev1.Pod{
		gputest.On(gputest.Pod("a", 1000, 1, 700), "n", 0),
		gputest.On(gputest.Pod("b", 1000, 1, 200), "n", 1),
		gputest.On(gputest.Pod("cpu", 1000, 0, 0), "n"),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		msg  string
	}{
		{"cpu pod", gputest.On(gputest.Pod("p", 1000, 0, 0), "n"), ""},
		{"share on GPU 1", gputest.On(gputest.Pod("p", 1000, 1, 800), "n", 1), ""},
		{"share on GPU 0 over 1000", gputest.On(gputest.Pod("p", 1000, 1, 400), "n", 0),
			"Allocate failed due to GPU 0 has 300 of 1000 thousandths free, requested 400, which is unexpected"},
		{"no index: only the total is checked", gputest.On(gputest.Pod("p", 1000, 1, 1000), "n"), ""},
		{"no index, over the total", gputest.On(gputest.Pod("p", 1000, 2, 1000), "n"),
			"Allocate failed due to requested 2000 thousandths of a GPU, used: 900, capacity: 2000, which is unexpected"},
		{"GPU that does not exist", gputest.On(gputest.Pod("p", 1000, 1, 100), "n", 2),
			"Allocate failed due to GPU 2 does not exist: the node has 2, which is unexpected"},
		{"index for the wrong number of GPUs", gputest.On(gputest.Pod("p", 1000, 1, 100), "n", 0, 1),
			`Allocate failed due to alibabacloud.com/gpu-index "0-1" names 2 GPUs, the pod requests 1, which is unexpected`},
		{"model not allowed", gputest.On(gputest.Pod("p", 1000, 1, 100, "V100M32"), "n", 1),
			`Allocate failed due to GPU model "T4" is not one of "V100M32", which is unexpected`},
	}
	for _, tt := range tests {
		reason, msg := gpushare.Admit(tt.pod, node, admitted)
		if msg != tt.msg || (msg != "") != (reason == gpushare.ReasonUnexpectedAdmissionError) {
			t.Errorf("%s: %q %q, want %q", tt.name, reason, msg, tt.msg)
		}
	}
}
