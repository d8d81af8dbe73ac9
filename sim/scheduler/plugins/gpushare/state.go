package gpushare

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/orrery-sim/orrery/sim/scheduler/framework"
)

// chooserKey holds the cycle's Chooser.
const chooserKey = Name + "/Chooser"

// SetChooser makes c choose the GPUs the cycle's pod gets at Reserve; policies call it
// from PreFilter (and PreScore), so enable them at those points too (multiPoint does).
func SetChooser(state *framework.CycleState, c Chooser) { state.Write(chooserKey, c) }

// ChooserFrom returns the cycle's Chooser, BestFit if none was set.
func ChooserFrom(state *framework.CycleState) Chooser {
	if v, ok := state.Read(chooserKey); ok {
		if c, ok := v.(Chooser); ok {
			return c
		}
	}
	return BestFit
}

func cycleOf(state *framework.CycleState, pod *corev1.Pod) *cycleData {
	if state == nil {
		return nil
	}
	if v, ok := state.Read(stateKey); ok {
		if d, ok := v.(*cycleData); ok && d.pod == pod {
			return d
		}
	}
	return nil
}

// RequestFrom returns the pod's GPU request as PreFilter read it, or reads it now.
func RequestFrom(state *framework.CycleState, pod *corev1.Pod) (Request, error) {
	if d := cycleOf(state, pod); d != nil {
		return d.req, d.err
	}
	return RequestOf(pod)
}

// NodeOf returns the GPU view of a node for the cycle's pod: the GPUShare plugin's (with
// its reservations) when it ran PreFilter this cycle, else one built from the NodeInfo
// alone. Shared: do not change it.
func NodeOf(state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *Node {
	if d := cycleOf(state, pod); d != nil {
		return d.p.Node(ni)
	}
	return NewNode(ni, nil, "")
}
