package trace

import (
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestReadV2018Machines(t *testing.T) {
	w, err := LoadV2018(V2018Files{MachineMeta: "testdata/machine_meta.csv"}, V2018Options{MachineMemory: resource.MustParse("512Gi")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range w.Nodes {
		got = append(got, describeNode(n)+" id="+n.Annotations[AnnotationTraceID])
	}
	want := []string{
		"m-1 cap=cpu=96,memory=512Gi,pods=110 labels=orrery.dev/failure-domain-2=h,topology.kubernetes.io/zone=65 id=m_1",
		"m-2 cap=cpu=96,memory=512Gi,pods=110 labels=orrery.dev/failure-domain-2=e,topology.kubernetes.io/zone=65 id=m_2",
		"m-3 cap=cpu=64,memory=256Gi,pods=110 labels=orrery.dev/failure-domain-2=b,topology.kubernetes.io/zone=66 id=m_3",
	}
	if d := diffLines(want, got); d != "" {
		t.Errorf("nodes differ:\n%s", d)
	}
}

func TestReadV2018Batch(t *testing.T) {
	// With the default 100Gi machine, a normalized 0.59 is 604.16Mi → 604Mi, 0.3 → 307Mi,
	// 0.39 → 399Mi.
	tests := []struct {
		name  string
		files V2018Files
		want  []string
	}{{
		name:  "tasks only",
		files: V2018Files{BatchTask: "testdata/batch_task.csv"},
		want: []string{
			"86500s default/j-3-m1-0 life=0s req=cpu=2 ann=orrery.dev/trace-id=j_3/M1,orrery.dev/trace-phase=Running labels=orrery.dev/job=j-3,orrery.dev/task=m1",
			"86500s default/j-3-m1-1 life=0s req=cpu=2 ann=orrery.dev/trace-id=j_3/M1,orrery.dev/trace-phase=Running labels=orrery.dev/job=j-3,orrery.dev/task=m1",
			"157213s default/j-1-m1-0 life=16s req=cpu=1,memory=604Mi ann=orrery.dev/trace-id=j_1/M1,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-1,orrery.dev/task=m1",
			"157213s default/j-1-m1-1 life=16s req=cpu=1,memory=604Mi ann=orrery.dev/trace-id=j_1/M1,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-1,orrery.dev/task=m1",
			"157230s default/j-1-r2-1-0 life=10s req=cpu=500m,memory=307Mi ann=orrery.dev/trace-id=j_1/R2_1,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-1,orrery.dev/task=r2-1",
			"673795s default/j-2-task-ltg0mtuwnta5mjg4mdkwnjizma-0 life=2s req=cpu=1,memory=399Mi ann=orrery.dev/trace-id=j_2/task_LTg0MTUwNTA5Mjg4MDkwNjIzMA==,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-2,orrery.dev/task=task-ltg0mtuwnta5mjg4mdkwnjizma",
		},
	}, {
		name:  "instances",
		files: V2018Files{BatchTask: "testdata/batch_task.csv", BatchInstance: "testdata/batch_instance.csv"},
		want: []string{
			"157213s default/j-1-m1-ins-1 life=7s req=cpu=1,memory=604Mi ann=orrery.dev/trace-id=j_1/M1/ins_1,orrery.dev/trace-machine=m_1,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-1,orrery.dev/task=m1",
			"157214s default/j-1-m1-ins-2 life=15s req=cpu=1,memory=604Mi ann=orrery.dev/trace-id=j_1/M1/ins_2,orrery.dev/trace-machine=m_3,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-1,orrery.dev/task=m1",
			"157230s default/j-1-r2-1-ins-3 life=0s req=cpu=500m,memory=307Mi ann=orrery.dev/trace-id=j_1/R2_1/ins_3,orrery.dev/trace-phase=Failed labels=orrery.dev/job=j-1,orrery.dev/task=r2-1",
			"673795s default/j-2-task-ltg0mtuwnta5mjg4mdkwnjizma-ins-74901673 life=2s req=cpu=1,memory=399Mi ann=orrery.dev/trace-id=j_2/task_LTg0MTUwNTA5Mjg4MDkwNjIzMA==/ins_74901673,orrery.dev/trace-machine=m_2,orrery.dev/trace-phase=Terminated labels=orrery.dev/job=j-2,orrery.dev/task=task-ltg0mtuwnta5mjg4mdkwnjizma",
		},
	}, {
		name:  "containers",
		files: V2018Files{ContainerMeta: "testdata/container_meta.csv"},
		want: []string{
			"0s default/c-1 life=0s req=cpu=4,memory=1597Mi ann=orrery.dev/trace-id=c_1,orrery.dev/trace-machine=m_2556 labels=orrery.dev/deploy-unit=app-5052",
			"12s default/c-2 life=399988s req=cpu=8,memory=3205Mi lim=cpu=16,memory=3205Mi ann=orrery.dev/trace-id=c_2,orrery.dev/trace-machine=m_1 labels=orrery.dev/deploy-unit=app-99",
			"50000s default/c-3 life=0s req=cpu=4,memory=1597Mi lim=memory=1597Mi ann=orrery.dev/trace-id=c_3,orrery.dev/trace-machine=m_2 labels=orrery.dev/deploy-unit=app-5052",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := LoadV2018(tt.files, V2018Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := diffLines(tt.want, describeAll(w.Arrivals)); d != "" {
				t.Errorf("arrivals differ:\n%s", d)
			}
		})
	}
}

func TestReadV2018Errors(t *testing.T) {
	task, _ := os.ReadFile("testdata/batch_task.csv")
	tests := []struct {
		name string
		read func() error
		want string
	}{{
		name: "field count",
		read: func() error {
			_, err := ReadV2018Batch("batch_task.csv", strings.NewReader("M1,1,j_1,1,Terminated,1,2,100\n"), "", nil, V2018Options{})
			return err
		},
		want: "batch_task.csv:1:1: wrong number of fields: want 9 (task_name,instance_num,job_name,task_type,status,start_time,end_time,plan_cpu,plan_mem)",
	}, {
		name: "bad plan_mem",
		read: func() error {
			_, err := ReadV2018Batch("batch_task.csv", strings.NewReader("M1,1,j_1,1,Terminated,1,2,100,abc\n"), "", nil, V2018Options{})
			return err
		},
		want: `batch_task.csv:1:31: column "plan_mem": expected a non-negative number, got "abc"`,
	}, {
		name: "instance of an unknown task",
		read: func() error {
			_, err := ReadV2018Batch("batch_task.csv", strings.NewReader(string(task)), "batch_instance.csv", strings.NewReader("ins_9,M9,j_1,1,Terminated,1,2,m_1,1,1,,,,\n"), V2018Options{})
			return err
		},
		want: `batch_instance.csv:1:7: column "task_name": task "M9" of job "j_1" is not in batch_task.csv`,
	}, {
		name: "duplicate task",
		read: func() error {
			_, err := ReadV2018Batch("batch_task.csv", strings.NewReader("M1,1,j_1,1,Terminated,1,2,100,1\nM1,1,j_1,1,Terminated,1,2,100,1\n"), "", nil, V2018Options{})
			return err
		},
		want: `batch_task.csv:2:1: column "task_name": task "M1" of job "j_1" appears twice (first on line 1)`,
	}, {
		name: "machine memory above 100",
		read: func() error {
			_, err := ReadV2018Machines("machine_meta.csv", strings.NewReader("m_1,0,65,h,96,101,USING\n"), V2018Options{})
			return err
		},
		want: `machine_meta.csv:1:15: column "mem_size": expected a normalized memory size in (0, 100], got "101"`,
	}, {
		name: "instances without tasks",
		read: func() error {
			_, err := LoadV2018(V2018Files{BatchInstance: "testdata/batch_instance.csv"}, V2018Options{})
			return err
		},
		want: "testdata/batch_instance.csv: batch_instance needs its batch_task table for the requests",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read()
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n %v\nwant\n %s", err, tt.want)
			}
		})
	}
}
