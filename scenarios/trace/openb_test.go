package trace

import (
	"os"
	"strings"
	"testing"
	"time"
)

func readOpenBPods(t *testing.T, file string, opts OpenBOptions) []Arrival {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	as, err := ReadOpenBPods(file, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestReadOpenBNodes(t *testing.T) {
	w, err := LoadOpenB("testdata/openb_node_list_small.csv", "testdata/openb_pod_list_small.csv", OpenBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range w.Nodes {
		got = append(got, describeNode(n))
	}
	want := []string{
		"openb-node-0000 cap=cpu=32,memory=256Gi,pods=110",
		"openb-node-0001 cap=cpu=32,memory=256Gi,pods=110",
		"openb-node-0123 cap=cpu=64,memory=256Gi,nvidia.com/gpu=2,pods=110 labels=alibabacloud.com/gpu-card-model=P100",
		"openb-node-0243 cap=cpu=96,memory=384Gi,nvidia.com/gpu=4,pods=110 labels=alibabacloud.com/gpu-card-model=T4",
		"openb-node-0234 cap=cpu=96,memory=384Gi,nvidia.com/gpu=8,pods=110 labels=alibabacloud.com/gpu-card-model=G2",
		"openb-node-0229 cap=cpu=96,memory=768Gi,nvidia.com/gpu=8,pods=110 labels=alibabacloud.com/gpu-card-model=V100M32",
		"openb-node-1328 cap=cpu=128,memory=1Ti,nvidia.com/gpu=1,pods=110 labels=alibabacloud.com/gpu-card-model=A10",
		"openb-node-0228 cap=cpu=128,memory=768Gi,nvidia.com/gpu=8,pods=110 labels=alibabacloud.com/gpu-card-model=G3",
	}
	if d := diffLines(want, got); d != "" {
		t.Errorf("nodes differ:\n%s", d)
	}
	if g := GPUCapacity(w.Nodes); g != 31 {
		t.Errorf("GPU capacity %d, want 31", g)
	}
	if h := w.Nodes[2].Labels["kubernetes.io/hostname"]; h != "openb-node-0123" {
		t.Errorf("hostname label %q", h)
	}
}

func TestReadOpenBPods(t *testing.T) {
	const (
		whole = "alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=1000"
	)
	tests := []struct {
		name string
		file string
		opts OpenBOptions
		want []string
	}{{
		name: "trace times",
		file: "testdata/openb_pod_list_small.csv",
		want: []string{
			"0s default/openb-pod-0000 life=12537496s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"427061s default/openb-pod-0001 life=12475899s req=cpu=6,memory=12Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=460,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"2759674s default/openb-pod-0005 life=10143286s req=cpu=20,memory=64Gi ann=orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"4975773s default/openb-pod-0009 life=7927187s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=V100M16|V100M32," + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"6588193s default/openb-pod-0012 life=4371052s req=cpu=8,memory=32Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=T4," + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"9437497s default/openb-pod-0017 life=1332357s req=cpu=88,memory=320Gi,nvidia.com/gpu=8 ann=alibabacloud.com/gpu-count=8,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Succeeded labels=orrery.dev/qos=Burstable",
			"9671707s default/openb-pod-0021 life=3231253s req=cpu=8,memory=30517Mi ann=alibabacloud.com/gpu-card-model=G2|P100|T4|V100M16|V100M32,alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=440,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"9965463s default/openb-pod-0033 life=182s req=cpu=3152m,memory=5600Mi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Failed labels=orrery.dev/qos=BE",
			"10001278s default/openb-pod-0061 life=125s req=cpu=11908m,memory=46Gi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Pending labels=orrery.dev/qos=BE",
			"10035396s default/openb-pod-0129 life=957s req=cpu=12,memory=24Gi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=Guaranteed",
			"10195438s default/openb-pod-0422 life=1707s req=cpu=17400m,memory=42Gi,nvidia.com/gpu=2 ann=alibabacloud.com/gpu-count=2,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS",
			"10793686s default/openb-pod-2182 life=6710s req=cpu=32200m,memory=129Gi,nvidia.com/gpu=4 ann=alibabacloud.com/gpu-count=4,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Failed labels=orrery.dev/qos=LS",
			"12774042s default/openb-pod-7285 life=0s req=cpu=8,memory=30517Mi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=230,orrery.dev/trace-phase=Pending labels=orrery.dev/qos=BE",
		},
	}, {
		name: "skip unscheduled, priority classes, namespace and image",
		file: "testdata/openb_pod_list_small.csv",
		opts: OpenBOptions{SkipUnscheduled: true, PriorityClasses: map[string]string{"LS": "high", "BE": "low"}, PodOptions: PodOptions{Namespace: "openb", Image: "busybox"}},
		want: []string{
			"0s openb/openb-pod-0000 life=12537496s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"427061s openb/openb-pod-0001 life=12475899s req=cpu=6,memory=12Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=460,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"2759674s openb/openb-pod-0005 life=10143286s req=cpu=20,memory=64Gi ann=orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"4975773s openb/openb-pod-0009 life=7927187s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=V100M16|V100M32," + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"6588193s openb/openb-pod-0012 life=4371052s req=cpu=8,memory=32Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-card-model=T4," + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"9437497s openb/openb-pod-0017 life=1332357s req=cpu=88,memory=320Gi,nvidia.com/gpu=8 ann=alibabacloud.com/gpu-count=8,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Succeeded labels=orrery.dev/qos=Burstable",
			"9671707s openb/openb-pod-0021 life=3231253s req=cpu=8,memory=30517Mi ann=alibabacloud.com/gpu-card-model=G2|P100|T4|V100M16|V100M32,alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=440,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"9965463s openb/openb-pod-0033 life=182s req=cpu=3152m,memory=5600Mi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Failed labels=orrery.dev/qos=BE pc=low",
			"10035396s openb/openb-pod-0129 life=957s req=cpu=12,memory=24Gi,nvidia.com/gpu=1 ann=" + whole + ",orrery.dev/trace-phase=Running labels=orrery.dev/qos=Guaranteed",
			"10195438s openb/openb-pod-0422 life=1707s req=cpu=17400m,memory=42Gi,nvidia.com/gpu=2 ann=alibabacloud.com/gpu-count=2,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Running labels=orrery.dev/qos=LS pc=high",
			"10793686s openb/openb-pod-2182 life=6710s req=cpu=32200m,memory=129Gi,nvidia.com/gpu=4 ann=alibabacloud.com/gpu-count=4,alibabacloud.com/gpu-milli=1000,orrery.dev/trace-phase=Failed labels=orrery.dev/qos=LS pc=high",
		},
	}, {
		name: "multigpu layout: no times, one arrival per interval",
		file: "testdata/openb_pod_list_multigpu_small.csv",
		want: []string{
			"0s default/openb-pod-0000 life=0s req=cpu=12,memory=16Gi,nvidia.com/gpu=1 ann=" + whole,
			"1s default/openb-pod-0001 life=0s req=cpu=6,memory=12Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=460",
			"2s default/openb-pod-0002 life=0s req=cpu=12,memory=24Gi,nvidia.com/gpu=1 ann=" + whole,
			"3s default/openb-pod-0017 life=0s req=cpu=88,memory=320Gi,nvidia.com/gpu=8 ann=alibabacloud.com/gpu-count=8,alibabacloud.com/gpu-milli=1000",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := readOpenBPods(t, tt.file, tt.opts)
			if d := diffLines(tt.want, describeAll(as)); d != "" {
				t.Errorf("arrivals differ:\n%s", d)
			}
			for _, a := range as {
				if img := a.Pod.Spec.Containers[0].Image; tt.opts.Image != "" && img != tt.opts.Image || tt.opts.Image == "" && img != DefaultImage {
					t.Errorf("%s: image %q", a.Pod.Name, img)
				}
			}
		})
	}
}

func TestReadOpenBErrors(t *testing.T) {
	const header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "pods.csv:1: empty file: want a header line with the columns name,cpu_milli,memory_mib,num_gpu,gpu_milli"},
		{"unknown column", "name,cpu_milli,memory_mb,num_gpu,gpu_milli\n", `pods.csv:1:16: unknown column "memory_mb" in the header: want columns among name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time`},
		{"missing column", "name,cpu_milli,memory_mib,num_gpu\n", `pods.csv:1: the header lacks the column "gpu_milli": want at least name,cpu_milli,memory_mib,num_gpu,gpu_milli`},
		{"duplicate column", "name,cpu_milli,name\n", `pods.csv:1:16: column "name" appears twice in the header`},
		{"bad integer", header + "p-1,12000,16384,1,1000,,LS,Running,0,10,0\np-2,1.5k,1,0,0,,LS,Running,0,10,0\n", `pods.csv:3:5: column "cpu_milli": expected an integer, got "1.5k"`},
		{"share too large", header + "p-1,12000,16384,1,1200,,LS,Running,0,10,0\n", `pods.csv:2:19: column "gpu_milli": expected an integer from 0 to 1000, got 1200`},
		{"share without GPU", header + "p-1,12000,16384,0,500,,LS,Running,0,10,0\n", `pods.csv:2:19: column "gpu_milli": expected 0 for a pod with num_gpu 0, got 500`},
		{"shared multi-GPU", header + "p-1,12000,16384,2,500,,LS,Running,0,10,0\n", `pods.csv:2:19: column "gpu_milli": expected 1000 for a pod with num_gpu 2 (only a single GPU is shared), got 500`},
		{"bad name", header + "P_1,12000,16384,1,1000,,LS,Running,0,10,0\n", `pods.csv:2:1: column "name": expected a pod name (a DNS-1123 subdomain), got "P_1"`},
		{"duplicate pod", header + "p-1,1,1,0,0,,LS,Running,0,10,0\np-1,1,1,0,0,,LS,Running,0,10,0\n", `pods.csv:3:1: column "name": pod "p-1" appears twice (first on line 2)`},
		{"field count", header + "p-1,1,1,0,0,,LS,Running,0,10\n", "pods.csv:2:1: wrong number of fields: want 11 (name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time)"},
		{"empty creation", header + "p-1,1,1,0,0,,LS,Running,,10,0\n", `pods.csv:2:25: column "creation_time": expected the creation time in seconds, got an empty field`},
		{"bad model", header + "p-1,1,1,1,1000,T4|V 100,LS,Running,0,10,0\n", `pods.csv:2:16: column "gpu_spec": expected GPU models separated by |, got "T4|V 100"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadOpenBPods("pods.csv", strings.NewReader(tt.data), OpenBOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n %s\nwant prefix\n %s", err, tt.want)
			}
		})
	}
	_, err := ReadOpenBNodes("nodes.csv", strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\nn-1,,1,0,\n"), OpenBOptions{})
	if want := `nodes.csv:2:5: column "cpu_milli": expected the node's CPU in millicores, got an empty field`; err == nil || err.Error() != want {
		t.Errorf("node error %v, want %s", err, want)
	}
}

func TestReadOpenBUntimedSkip(t *testing.T) {
	const data = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,pod_phase\na,1000,1024,0,0,Running\nb,1000,1024,0,0,Pending\nc,1000,1024,0,0,Running\n"
	as, err := ReadOpenBPods("p.csv", strings.NewReader(data), OpenBOptions{SkipUnscheduled: true, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0s default/a life=0s req=cpu=1,memory=1Gi ann=orrery.dev/trace-phase=Running",
		"2s default/c life=0s req=cpu=1,memory=1Gi ann=orrery.dev/trace-phase=Running",
	}
	if d := diffLines(want, describeAll(as)); d != "" {
		t.Errorf("arrivals differ:\n%s", d)
	}
}
