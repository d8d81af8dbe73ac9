package kubelet

import (
	"sort"

	"k8s.io/apimachinery/pkg/types"
)

// ContainerRecords is what a runtime remembers of its containers: the latest instance of
// each container of each pod (as the kubelet's container garbage collection leaves it),
// by pod UID and container name. Both the simulated runtime and real mode's keep one.
type ContainerRecords map[types.UID]map[string]*RuntimeContainer

// Record starts the record of a new container instance, replacing the record of the
// container's previous instance.
func (rs ContainerRecords) Record(cfg ContainerConfig) *RuntimeContainer {
	rec := &RuntimeContainer{ID: cfg.ID, Pod: cfg.Pod, Name: cfg.Container.Name, Attempt: cfg.Attempt, State: ContainerCreated}
	uid := cfg.Pod.UID
	if rs[uid] == nil {
		rs[uid] = map[string]*RuntimeContainer{}
	}
	rs[uid][rec.Name] = rec
	return rec
}

// List returns the records ordered by pod UID and container name.
func (rs ContainerRecords) List() []RuntimeContainer {
	uids := make([]string, 0, len(rs))
	for uid := range rs {
		uids = append(uids, string(uid))
	}
	sort.Strings(uids)
	var out []RuntimeContainer
	for _, uid := range uids {
		recs := rs[types.UID(uid)]
		names := make([]string, 0, len(recs))
		for name := range recs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			out = append(out, *recs[name])
		}
	}
	return out
}
