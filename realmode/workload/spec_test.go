package workload

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCurveAt(t *testing.T) {
	s := time.Second
	ramp := Curve{Points: []Point{{0, 100}, {10 * s, 200}}}
	steps := Curve{Points: []Point{{0, 0}, {2 * s, 0}, {2 * s, 50}, {5 * s, 50}, {5 * s, 10}}}
	spikes := Curve{Points: []Point{{0, 1}, {8 * s, 1}, {8 * s, 9}, {10 * s, 9}}, Period: 10 * s}
	for _, tc := range []struct {
		name string
		c    Curve
		at   time.Duration
		want int64
	}{
		{"empty", Curve{}, s, 0},
		{"ramp start", ramp, 0, 100},
		{"ramp middle", ramp, 5 * s, 150},
		{"ramp end", ramp, 10 * s, 200},
		{"ramp holds", ramp, time.Hour, 200},
		{"step before", steps, 2*s - 1, 0},
		{"step at", steps, 2 * s, 50},
		{"step down", steps, 5 * s, 10},
		{"step after", steps, 9 * s, 10},
		{"spike base", spikes, 3 * s, 1},
		{"spike peak", spikes, 9 * s, 9},
		{"spike repeats base", spikes, 13 * s, 1},
		{"spike repeats peak", spikes, 28 * s, 9},
	} {
		if got := tc.c.At(tc.at); got != tc.want {
			t.Errorf("%s: At(%v) = %d, want %d", tc.name, tc.at, got, tc.want)
		}
	}
}

func TestReady(t *testing.T) {
	s := Spec{ReadyAfter: 2 * time.Second, ReadinessFailsAfter: 10 * time.Second, LivenessFailsAfter: 20 * time.Second}
	for _, tc := range []struct {
		path string
		at   time.Duration
		want bool
	}{
		{PathStartup, time.Second, false},
		{PathStartup, 2 * time.Second, true},
		{PathReadiness, time.Second, false},
		{PathReadiness, 5 * time.Second, true},
		{PathReadiness, 10 * time.Second, false},
		{PathLiveness, 0, true},
		{PathLiveness, 20 * time.Second, false},
		{"/other", 5 * time.Second, false},
	} {
		if got := s.Ready(tc.path, tc.at); got != tc.want {
			t.Errorf("Ready(%s, %v) = %v, want %v", tc.path, tc.at, got, tc.want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	in := Spec{Memory: Curve{Points: []Point{{0, 1}, {time.Second, 2}}}, ExitAfter: time.Minute, ExitCode: 3, IgnoreSIGTERM: true, Listen: "127.0.0.1:1"}
	out, err := Decode(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if out.Encode() != in.Encode() {
		t.Fatalf("round trip: %s, want %s", out.Encode(), in.Encode())
	}
	for _, bad := range []string{`{`, `{"cpu":{"points":[{"at":5,"v":1},{"at":1,"v":1}]}}`} {
		if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), EnvSpec) {
			t.Errorf("Decode(%s) = %v, want an error naming %s", bad, err, EnvSpec)
		}
	}
}

func TestRunExitsAndAnswersProbes(t *testing.T) {
	exited := make(chan int, 2)
	spec := Spec{ExitAfter: 300 * time.Millisecond, ExitCode: 7, ReadyAfter: 100 * time.Millisecond, Listen: "127.0.0.1:0"}
	p, err := Run(spec, func(code int) { exited <- code })
	if err != nil {
		t.Fatal(err)
	}
	if !p.spec.Ready(PathLiveness, 0) {
		t.Fatal("liveness fails at the start")
	}
	select {
	case code := <-exited:
		if code != 7 {
			t.Fatalf("exited with %d, want 7", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after exitAfter")
	}
}

func TestServeHTTP(t *testing.T) {
	exited := make(chan int, 1)
	p := &Process{spec: Spec{ReadyAfter: time.Hour}, start: time.Now(), exit: func(c int) { exited <- c }}
	for _, tc := range []struct {
		path string
		code int
	}{{PathLiveness, 200}, {PathReadiness, 503}, {PathCrash + "?code=x", 400}, {PathCrash + "?code=4", 200}} {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "http://x"+tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, rec.Code, tc.code)
		}
	}
	if code := <-exited; code != 4 {
		t.Fatalf("crash exited with %d, want 4", code)
	}
}
