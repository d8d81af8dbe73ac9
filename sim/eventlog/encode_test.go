package eventlog

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []Entry{
		{Seq: 1, Time: "0s", Actor: "system:kube-scheduler", Verb: "action", Resource: "pods", Namespace: "default", Name: "web-1", Reason: "Scheduled", Message: "Successfully assigned default/web-1 to node-1"},
		{Seq: 2, Time: "5m50.005s", Actor: "a", Verb: "create", Revision: 42, Code: 201},
		{Seq: 3, Time: "1s", Actor: "a", Verb: "update", Code: 409, Reason: "Conflict", Message: "Operation cannot be fulfilled on pods \"x\": the object has been modified; <please> & retry\n\ttab\r\b\f\x01\x7f"},
		{Seq: 4, Time: "1s", Actor: "é ü 中文", Verb: "action", Message: "bad utf8 \xff\xfe and \u2028 \u2029 line separators"},
		{},
	}
	for _, e := range tests {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSON(nil, &e); string(got) != string(want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("default", "web", "0/3 nodes are available: 3 Insufficient cpu.", int64(7))
	f.Add("<&>", "\u2028", "\xff\x00\"\\", int64(-1))
	f.Fuzz(func(t *testing.T, ns, name, msg string, rev int64) {
		e := Entry{Seq: 9, Time: "1m0s", Actor: name, Verb: "action", Namespace: ns, Name: name, Revision: rev, Code: int(rev % 600), Reason: ns, Message: msg}
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSON(nil, &e); string(got) != string(want) {
			t.Fatalf("appendJSON\n got %s\nwant %s", got, want)
		}
	})
}
