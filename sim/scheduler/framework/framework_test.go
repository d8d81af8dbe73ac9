package framework

import "testing"

func TestReadState(t *testing.T) {
	type state struct{ n int }
	c := NewCycleState()
	c.Write("k", &state{n: 7})
	c.Write("other", 3)
	if s, err := ReadState[*state](c, "k"); err != nil || s.n != 7 {
		t.Errorf("found: %v %v", s, err)
	}
	if _, err := ReadState[*state](c, "missing"); err == nil || err.Error() != `reading "missing" from cycleState: not found` {
		t.Errorf("missing: %v", err)
	}
	if _, err := ReadState[*state](c, "other"); err == nil || err.Error() != "3 convert to *framework.state error" {
		t.Errorf("wrong type: %v", err)
	}
	c.Write("k", &state{n: 8}) // Write replaces
	if s, _ := ReadState[*state](c, "k"); s.n != 8 {
		t.Errorf("after rewrite: %v", s.n)
	}
}
