package eventlog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestAppendWritesHashesAndNotifies(t *testing.T) {
	now := 90 * time.Second
	l := New(func() time.Duration { return now })
	var out bytes.Buffer
	l.SetOutput(&out)
	var seen []string
	l.Subscribe(func(e *Entry) { seen = append(seen, e.Reason) })
	l.Append(Entry{Actor: "system:admin", Verb: "create", Resource: "pods", Namespace: "default", Name: "web", Revision: 7, Code: 201})
	l.Action("system:kube-scheduler", "Scheduled", "pods", "default", "web", "Successfully assigned default/web to n1")
	want := `{"seq":1,"t":"1m30s","actor":"system:admin","verb":"create","resource":"pods","ns":"default","name":"web","rev":7,"code":201}` + "\n"
	if got := strings.SplitAfter(out.String(), "\n")[0]; got != want {
		t.Fatalf("line 1:\n got %s\nwant %s", got, want)
	}
	if l.Len() != 2 || len(seen) != 2 || seen[1] != "Scheduled" {
		t.Fatalf("len=%d seen=%v", l.Len(), seen)
	}
	// The hash is a function of the lines: a second log with the same entries agrees, a
	// different entry disagrees.
	same := New(func() time.Duration { return now })
	same.Append(Entry{Actor: "system:admin", Verb: "create", Resource: "pods", Namespace: "default", Name: "web", Revision: 7, Code: 201})
	same.Action("system:kube-scheduler", "Scheduled", "pods", "default", "web", "Successfully assigned default/web to n1")
	if same.Hash() != l.Hash() {
		t.Fatal("same entries, different hash")
	}
	other := New(func() time.Duration { return now })
	other.Append(Entry{Actor: "system:admin", Verb: "create", Resource: "pods", Namespace: "default", Name: "web", Revision: 8, Code: 201})
	if other.Hash() == l.Hash() {
		t.Fatal("different entries, same hash")
	}
}
