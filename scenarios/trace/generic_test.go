package trace

import (
	"strings"
	"testing"
)

func TestReadGeneric(t *testing.T) {
	w, err := LoadGeneric("testdata/generic.csv", PodOptions{Namespace: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0s batch/train-1 life=0s req=cpu=2,memory=4Gi,nvidia.com/gpu=1 ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=1000 labels=app=train pc=high",
		"0s batch/web-1 life=600s req=cpu=500m,memory=1Gi labels=app=web,tier=frontend",
		"30s batch/pod-3 life=5400s req=cpu=1,memory=2Gi ann=alibabacloud.com/gpu-count=1,alibabacloud.com/gpu-milli=250",
		"60s batch/pod-4 life=5s req=cpu=100m,memory=128Mi pc=low",
	}
	if d := diffLines(want, describeAll(w.Arrivals)); d != "" {
		t.Errorf("arrivals differ:\n%s", d)
	}
}

func TestReadGenericErrors(t *testing.T) {
	const header = "arrival,duration,cpu,memory,gpu,priority,labels,name\n"
	tests := []struct{ name, data, want string }{
		{"no header", "0s,1m,1,1Gi,,,,a\n", `g.csv:1:1: unknown column "0s" in the header`},
		{"missing memory", "arrival,cpu\n", `g.csv:1: the header lacks the column "memory": want at least arrival,cpu,memory`},
		{"bad arrival", header + "5 minutes,,1,1Gi,,,,a\n", `g.csv:2:1: column "arrival": expected a non-negative Go duration such as 90s, 1m30s or 2h, got "5 minutes"`},
		{"empty arrival", header + ",,1,1Gi,,,,a\n", `g.csv:2:1: column "arrival": expected the arrival time as a Go duration such as 90s, got an empty field`},
		{"bad duration", header + "1s,-1m,1,1Gi,,,,a\n", `g.csv:2:4: column "duration": expected a non-negative Go duration such as 90s, 1m30s or 2h, got "-1m"`},
		{"bad cpu", header + "1s,,2 cores,1Gi,,,,a\n", `g.csv:2:5: column "cpu": expected a Kubernetes quantity such as 500m, 2 or 4Gi, got "2 cores"`},
		{"fractional GPUs", header + "1s,,1,1Gi,1500m,,,a\n", `g.csv:2:11: column "gpu": expected a whole number of GPUs or a share below 1 (such as 500m), got "1500m"`},
		{"bad label", header + "1s,,1,1Gi,,,app,a\n", `g.csv:2:13: column "labels": expected labels as key=value;key=value, got "app"`},
		{"bad label value", header + "1s,,1,1Gi,,,app=a b,a\n", `g.csv:2:13: column "labels": expected a label value for "app", got "a b"`},
		{"bad priority", header + "1s,,1,1Gi,,High Prio,,a\n", `g.csv:2:12: column "priority": expected a PriorityClass name, got "High Prio"`},
		{"duplicate", header + "1s,,1,1Gi,,,,a\n2s,,1,1Gi,,,,a\n", `g.csv:3:14: column "name": pod "default/a" appears twice (first on line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadGeneric("g.csv", strings.NewReader(tt.data), PodOptions{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n %v\nwant prefix\n %s", err, tt.want)
			}
		})
	}
}
