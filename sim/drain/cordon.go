package drain

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orrery-sim/orrery/sim/apiserver"
)

// Cordon marks the node unschedulable, as `kubectl cordon` does with a strategic merge
// patch of spec.unschedulable; it reports whether the node changed (false if it was
// cordoned already).
func Cordon(client *apiserver.Client, node string) (bool, error) {
	return setUnschedulable(client, node, true)
}

// Uncordon makes the node schedulable again, as `kubectl uncordon`; it reports whether the
// node changed.
func Uncordon(client *apiserver.Client, node string) (bool, error) {
	return setUnschedulable(client, node, false)
}

func setUnschedulable(client *apiserver.Client, node string, on bool) (bool, error) {
	obj, err := client.Get("nodes", "", node)
	if err != nil {
		return false, fmt.Errorf("get node %s: %w", node, err)
	}
	if obj.(*corev1.Node).Spec.Unschedulable == on {
		return false, nil
	}
	// The field is omitted when false, so uncordoning removes it.
	patch := `{"spec":{"unschedulable":true}}`
	if !on {
		patch = `{"spec":{"unschedulable":null}}`
	}
	if _, err := client.Patch("nodes", "", node, types.StrategicMergePatchType, []byte(patch), ""); err != nil {
		return false, fmt.Errorf("patch node %s: %w", node, err)
	}
	return true, nil
}
