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

func TestRecycle(t *testing.T) {
	type state struct{ n int }
	c := NewCycleState()
	first := &state{n: 1}
	c.Write("k", first)
	c.SkipFilterAt(3, 1)
	c.SkipScoreAt(2, 0)
	if got := c.Recycled("k"); got != nil {
		t.Errorf("Recycled before Recycle: %v, want nil (the value is live)", got)
	}
	c.Recycle()
	if v, ok := c.Read("k"); ok || v != nil {
		t.Errorf("Read after Recycle: %v %v, want nothing", v, ok)
	}
	if c.SkipFilter != nil || c.SkipScore != nil {
		t.Errorf("skips after Recycle: %v %v, want nil", c.SkipFilter, c.SkipScore)
	}
	if got := c.Recycled("k"); got != first {
		t.Errorf("Recycled: %v, want the value of the last cycle", got)
	}
	if got := c.Recycled("other"); got != nil {
		t.Errorf("Recycled of a key never written: %v", got)
	}
	c.Write("k", first)
	if got := c.Recycled("k"); got != nil {
		t.Errorf("Recycled once written again: %v, want nil", got)
	}
	if s, err := ReadState[*state](c, "k"); err != nil || s != first {
		t.Errorf("Read once written again: %v %v", s, err)
	}
	// The skip lists come back zeroed, of the length asked for.
	c.SkipFilterAt(3, 2)
	if want := []bool{false, false, true}; len(c.SkipFilter) != 3 || c.SkipFilter[0] || c.SkipFilter[1] || !c.SkipFilter[2] {
		t.Errorf("SkipFilter %v, want %v", c.SkipFilter, want)
	}
	c.SkipScoreAt(2, -1) // a plugin not in the list marks nothing
	if c.SkipScore != nil {
		t.Errorf("SkipScore %v, want nil", c.SkipScore)
	}
}

func TestSharedStatus(t *testing.T) {
	a, b := NewStatus(Skip), NewStatus(Skip)
	if a != b {
		t.Errorf("two Skip statuses without reasons are not shared")
	}
	named := a.WithPlugin("P")
	if named == a || named.Plugin() != "P" || named.Code() != Skip {
		t.Errorf("WithPlugin on a shared status: %+v (same: %v), want a copy named P", named, named == a)
	}
	if a.Plugin() != "" || NewStatus(Skip).Plugin() != "" {
		t.Errorf("the shared status was renamed: %q", a.Plugin())
	}
	if again := named.WithPlugin("Q"); again != named || named.Plugin() != "Q" {
		t.Errorf("WithPlugin on an own status copies it")
	}
	r := NewStatus(Unschedulable, "why")
	if r == NewStatus(Unschedulable, "why") || r.Message() != "why" {
		t.Errorf("statuses with reasons are shared")
	}
	if NewStatus(Code(99)).Code() != Code(99) {
		t.Errorf("an unknown code is lost")
	}
}
