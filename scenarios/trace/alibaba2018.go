package trace

import (
	"fmt"
	"io"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The columns of cluster-trace-v2018's tables, in file order (the files have no header),
// as alibaba/clusterdata's cluster-trace-v2018/schema.md lists them.
var (
	v2018MachineColumns   = []string{"machine_id", "time_stamp", "failure_domain_1", "failure_domain_2", "cpu_num", "mem_size", "status"}
	v2018TaskColumns      = []string{"task_name", "instance_num", "job_name", "task_type", "status", "start_time", "end_time", "plan_cpu", "plan_mem"}
	v2018InstanceColumns  = []string{"instance_name", "task_name", "job_name", "task_type", "status", "start_time", "end_time", "machine_id", "seq_no", "total_seq_no", "cpu_avg", "cpu_max", "mem_avg", "mem_max"}
	v2018ContainerColumns = []string{"container_id", "machine_id", "time_stamp", "app_du", "status", "cpu_request", "cpu_limit", "mem_size"}
)

// Labels and annotations of the v2018 import.
const (
	// LabelFailureDomain2 is a machine's second-level failure domain (the first is the
	// node's zone).
	LabelFailureDomain2 = "orrery.dev/failure-domain-2"
	// LabelJob and LabelTask name a batch instance's job and task.
	LabelJob  = "orrery.dev/job"
	LabelTask = "orrery.dev/task"
	// LabelDeployUnit is a container's deploy unit (app_du), its service.
	LabelDeployUnit = "orrery.dev/deploy-unit"
)

// DefaultMachineMemory is the memory of a v2018 machine whose normalized mem_size is 100.
const DefaultMachineMemory = "100Gi"

// V2018Options shape a cluster-trace-v2018 import.
type V2018Options struct {
	PodOptions
	// MachineMemory is the memory that a normalized size of 100 stands for (the trace
	// normalizes memory to the largest machine); DefaultMachineMemory if zero.
	MachineMemory resource.Quantity
	// MaxPods is the pods capacity of every node; DefaultMaxPods if 0.
	MaxPods int64
	// StopStatuses are the container_meta statuses that end a container (compared
	// case-insensitively); nil means stopped, terminated, deleted, dead, killed and failed.
	StopStatuses []string
}

// defaultStopStatuses end a container in container_meta when V2018Options has none.
func defaultStopStatuses() []string {
	return []string{"stopped", "terminated", "deleted", "dead", "killed", "failed"}
}

// memory converts a normalized size (0–100) to a quantity, rounded to a MiB.
func (o V2018Options) memory(normalized float64) resource.Quantity {
	total := o.MachineMemory
	if total.IsZero() {
		total = resource.MustParse(DefaultMachineMemory)
	}
	mib := math.Round(normalized / 100 * float64(total.Value()) / (1 << 20))
	return mebibytes(int64(mib))
}

// ReadV2018Machines reads machine_meta into nodes, one per machine at its first row:
// cpu_num cores, mem_size × MachineMemory / 100, zone failure_domain_1 and label
// orrery.dev/failure-domain-2. Node names are the machine ids made DNS-safe (m_1 → m-1).
func ReadV2018Machines(file string, r io.Reader, opts V2018Options) ([]*corev1.Node, error) {
	t := openFixed(file, r, v2018MachineColumns)
	var nodes []*corev1.Node
	seen := map[string]bool{}
	names := newNamer()
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nodes, nil
		}
		id := t.str("machine_id")
		if id == "" {
			return nil, t.errorf("machine_id", "expected a machine id, got an empty field")
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		cpu, err := t.int("cpu_num", 1, 1<<20, -1)
		if err == nil && cpu < 0 {
			err = t.errorf("cpu_num", "expected the machine's number of cores, got an empty field")
		}
		if err != nil {
			return nil, err
		}
		mem, err := t.float("mem_size", -1)
		if err == nil && !(mem > 0 && mem <= 100) {
			err = t.errorf("mem_size", "expected a normalized memory size in (0, 100], got %q", t.str("mem_size"))
		}
		if err != nil {
			return nil, err
		}
		labels := map[string]string{}
		for _, ck := range [][2]string{{"failure_domain_1", corev1.LabelTopologyZone}, {"failure_domain_2", LabelFailureDomain2}} {
			col, key := ck[0], ck[1]
			if v := t.str(col); v != "" {
				if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
					return nil, t.errorf(col, "expected a failure domain usable as a label value, got %q: %s", v, strings.Join(msgs, "; "))
				}
				labels[key] = v
			}
		}
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: opts.memory(mem),
		}
		n := NewNode(names.name(id), capacity, labels, opts.MaxPods)
		n.Annotations = map[string]string{AnnotationTraceID: id}
		nodes = append(nodes, n)
	}
}

// v2018Task is one batch_task row.
type v2018Task struct {
	job, name, status string
	instances         int64
	start, end        int64
	requests          corev1.ResourceList
	line              int
}

// ReadV2018Batch reads batch_task and, if instances is not nil, batch_instance into
// arrivals. With instances, each instance row is a pod of its task's plan_cpu and plan_mem
// arriving at the instance's start_time and departing at its end_time; without, each
// task is instance_num pods over the task's times. Times of 0 (outside the trace's span)
// arrive at 0 or never depart. Empty plan values leave the request out.
func ReadV2018Batch(taskFile string, tasks io.Reader, instanceFile string, instances io.Reader, opts V2018Options) ([]Arrival, error) {
	byKey := map[[2]string]*v2018Task{}
	var order []*v2018Task
	t := openFixed(taskFile, tasks, v2018TaskColumns)
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		task, err := readV2018Task(t, opts)
		if err != nil {
			return nil, err
		}
		key := [2]string{task.job, task.name}
		if prev, dup := byKey[key]; dup {
			return nil, t.errorf("task_name", "task %q of job %q appears twice (first on line %d)", task.name, task.job, prev.line)
		}
		byKey[key] = task
		order = append(order, task)
	}
	names := newNamer()
	var out []Arrival
	if instances == nil {
		for _, task := range order {
			for i := range task.instances {
				pod := v2018BatchPod(names.name(task.job, task.name, fmt.Sprint(i)), task, task.status, opts)
				out = append(out, departing(pod, task.start, task.end))
			}
		}
		Sort(out)
		return out, nil
	}
	it := openFixed(instanceFile, instances, v2018InstanceColumns)
	for {
		ok, err := it.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		job, taskName, inst := it.str("job_name"), it.str("task_name"), it.str("instance_name")
		task, found := byKey[[2]string{job, taskName}]
		if !found {
			return nil, it.errorf("task_name", "task %q of job %q is not in %s", taskName, job, taskFile)
		}
		if inst == "" {
			return nil, it.errorf("instance_name", "expected an instance name, got an empty field")
		}
		start, err := it.int("start_time", 0, math.MaxInt32, 0)
		if err != nil {
			return nil, err
		}
		end, err := it.int("end_time", 0, math.MaxInt32, 0)
		if err != nil {
			return nil, err
		}
		pod := v2018BatchPod(names.name(job, taskName, inst), task, it.str("status"), opts)
		pod.Annotations[AnnotationTraceID] = job + "/" + taskName + "/" + inst
		if m := it.str("machine_id"); m != "" {
			pod.Annotations[AnnotationTraceMachine] = m
		}
		out = append(out, departing(pod, start, end))
	}
	Sort(out)
	return out, nil
}

func readV2018Task(t *table, opts V2018Options) (*v2018Task, error) {
	task := &v2018Task{job: t.str("job_name"), name: t.str("task_name"), status: t.str("status"), line: t.line(), requests: corev1.ResourceList{}}
	if task.job == "" {
		return nil, t.errorf("job_name", "expected a job name, got an empty field")
	}
	if task.name == "" {
		return nil, t.errorf("task_name", "expected a task name, got an empty field")
	}
	var err error
	if task.instances, err = t.int("instance_num", 0, 1<<24, 1); err != nil {
		return nil, err
	}
	if task.start, err = t.int("start_time", 0, math.MaxInt32, 0); err != nil {
		return nil, err
	}
	if task.end, err = t.int("end_time", 0, math.MaxInt32, 0); err != nil {
		return nil, err
	}
	if err := v2018Requests(t, "plan_cpu", "plan_mem", task.requests, opts); err != nil {
		return nil, err
	}
	return task, nil
}

// v2018Requests reads a CPU column (100 = one core) and a normalized memory column.
func v2018Requests(t *table, cpuCol, memCol string, into corev1.ResourceList, opts V2018Options) error {
	cpu, err := t.float(cpuCol, 0)
	if err != nil {
		return err
	}
	if cpu > 0 {
		into[corev1.ResourceCPU] = milliCPU(int64(math.Round(cpu * 10)))
	}
	mem, err := t.float(memCol, 0)
	if err == nil && mem > 100 {
		err = t.errorf(memCol, "expected a normalized memory size from 0 to 100, got %q", t.str(memCol))
	}
	if err != nil {
		return err
	}
	if q := opts.memory(mem); mem > 0 && !q.IsZero() {
		into[corev1.ResourceMemory] = q
	}
	return nil
}

func v2018BatchPod(name string, task *v2018Task, status string, opts V2018Options) *corev1.Pod {
	pod := NewPod(name, opts.PodOptions, task.requests)
	pod.Labels = map[string]string{LabelJob: sanitize(task.job), LabelTask: sanitize(task.name)}
	pod.Annotations = map[string]string{AnnotationTraceID: task.job + "/" + task.name}
	if status != "" {
		pod.Annotations[AnnotationTracePhase] = status
	}
	return pod
}

// departing makes an arrival at start (seconds) that departs at end if end is later.
func departing(pod *corev1.Pod, start, end int64) Arrival {
	a := Arrival{At: seconds(start), Pod: pod}
	if end > start {
		a.Lifetime = seconds(end - start)
	}
	return a
}

// ReadV2018Containers reads container_meta into arrivals, one pod per container: it
// arrives at its earliest time_stamp with that row's cpu_request (requests), cpu_limit
// (limits) and mem_size, and departs at the first later row whose status is one of
// StopStatuses. app_du becomes label orrery.dev/deploy-unit.
func ReadV2018Containers(file string, r io.Reader, opts V2018Options) ([]Arrival, error) {
	stop := map[string]bool{}
	statuses := opts.StopStatuses
	if statuses == nil {
		statuses = defaultStopStatuses()
	}
	for _, s := range statuses {
		stop[strings.ToLower(s)] = true
	}
	type container struct {
		arrival    Arrival
		first, end int64
		stopped    bool
	}
	byID := map[string]*container{}
	var order []string
	names := newNamer()
	t := openFixed(file, r, v2018ContainerColumns)
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		id := t.str("container_id")
		if id == "" {
			return nil, t.errorf("container_id", "expected a container id, got an empty field")
		}
		ts, err := t.int("time_stamp", 0, math.MaxInt32, 0)
		if err != nil {
			return nil, err
		}
		status := t.str("status")
		c := byID[id]
		if c != nil && ts >= c.first {
			if stop[strings.ToLower(status)] && (!c.stopped || ts < c.end) {
				c.end, c.stopped = ts, true
			}
			continue
		}
		requests := corev1.ResourceList{}
		if err := v2018Requests(t, "cpu_request", "mem_size", requests, opts); err != nil {
			return nil, err
		}
		limit, err := t.float("cpu_limit", 0)
		if err != nil {
			return nil, err
		}
		if c == nil {
			c = &container{}
			byID[id] = c
			order = append(order, id)
			c.arrival.Pod = NewPod(names.name(id), opts.PodOptions, requests)
		} else {
			// An earlier row than the one seen first: it is the container's arrival.
			name := c.arrival.Pod.Name
			c.arrival.Pod = NewPod(name, opts.PodOptions, requests)
		}
		c.first = ts
		pod := c.arrival.Pod
		if limit > 0 {
			pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = milliCPU(int64(math.Round(limit * 10)))
		} else {
			delete(pod.Spec.Containers[0].Resources.Limits, corev1.ResourceCPU)
		}
		pod.Annotations = map[string]string{AnnotationTraceID: id}
		if m := t.str("machine_id"); m != "" {
			pod.Annotations[AnnotationTraceMachine] = m
		}
		if du := t.str("app_du"); du != "" {
			pod.Labels = map[string]string{LabelDeployUnit: sanitize(du)}
		}
		if stop[strings.ToLower(status)] {
			c.end, c.stopped = ts, true
		}
	}
	var out []Arrival
	for _, id := range order {
		c := byID[id]
		a := c.arrival
		a.At = seconds(c.first)
		if c.stopped && c.end > c.first {
			a.Lifetime = seconds(c.end - c.first)
		}
		out = append(out, a)
	}
	Sort(out)
	return out, nil
}

// V2018Files names the cluster-trace-v2018 tables to read; empty names are skipped.
type V2018Files struct {
	MachineMeta, BatchTask, BatchInstance, ContainerMeta string
}

// LoadV2018 reads the named tables: machines into nodes, batch and container arrivals
// merged in arrival order.
func LoadV2018(files V2018Files, opts V2018Options) (*Workload, error) {
	w := &Workload{}
	if files.MachineMeta != "" {
		err := openFile(files.MachineMeta, func(r io.Reader) (err error) {
			w.Nodes, err = ReadV2018Machines(files.MachineMeta, r, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if files.BatchInstance != "" && files.BatchTask == "" {
		return nil, fmt.Errorf("%s: batch_instance needs its batch_task table for the requests", files.BatchInstance)
	}
	if files.BatchTask != "" {
		err := openFile(files.BatchTask, func(tasks io.Reader) error {
			if files.BatchInstance == "" {
				a, err := ReadV2018Batch(files.BatchTask, tasks, "", nil, opts)
				w.Arrivals = append(w.Arrivals, a...)
				return err
			}
			return openFile(files.BatchInstance, func(insts io.Reader) error {
				a, err := ReadV2018Batch(files.BatchTask, tasks, files.BatchInstance, insts, opts)
				w.Arrivals = append(w.Arrivals, a...)
				return err
			})
		})
		if err != nil {
			return nil, err
		}
	}
	if files.ContainerMeta != "" {
		err := openFile(files.ContainerMeta, func(r io.Reader) error {
			a, err := ReadV2018Containers(files.ContainerMeta, r, opts)
			w.Arrivals = append(w.Arrivals, a...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	Sort(w.Arrivals)
	return w, nil
}
