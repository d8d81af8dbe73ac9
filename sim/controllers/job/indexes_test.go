package job

import (
	"reflect"
	"testing"
)

// TestIntervals: completed and failed indexes are written as upstream compresses them:
// runs of three or more as "a-b", pairs as "a,b"; parsing drops corrupt parts and indexes
// beyond completions.
func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		prev        string
		add         []int
		completions int
		want        string
		total       int
	}{
		{"", nil, 5, "", 0},
		{"", []int{0}, 5, "0", 1},
		{"", []int{0, 1}, 5, "0,1", 2},
		{"", []int{0, 1, 2}, 5, "0-2", 3},
		{"0,2", []int{1}, 5, "0-2", 3},
		{"0-2", []int{4}, 5, "0-2,4", 4},
		{"1,x,3-4", []int{0}, 5, "0,1,3,4", 4},
		{"3-9", nil, 5, "3,4", 2},
		{"7", []int{1}, 5, "1", 1},
	} {
		got := parseIntervals(tc.prev, tc.completions).withIndexes(tc.add)
		if got.String() != tc.want || got.total() != tc.total {
			t.Errorf("%q + %v = %q (%d), want %q (%d)", tc.prev, tc.add, got.String(), got.total(), tc.want, tc.total)
		}
	}
	iv := parseIntervals("0-2,5,7-9", 10)
	var has []int
	for i := 0; i < 10; i++ {
		if iv.has(i) {
			has = append(has, i)
		}
	}
	if want := []int{0, 1, 2, 5, 7, 8, 9}; !reflect.DeepEqual(has, want) {
		t.Fatalf("has %v, want %v", has, want)
	}
}

// TestPodGenerateNameWithIndex: long Job names are cut so that the index survives.
func TestPodGenerateNameWithIndex(t *testing.T) {
	long := "a123456789b123456789c123456789d123456789e123456789f123456789"
	for _, tc := range []struct {
		job  string
		ix   int
		want string
	}{
		{"pi", 3, "pi-3-"},
		{long, 12, long[:54] + "-12-"},
	} {
		if got := podGenerateNameWithIndex(tc.job, tc.ix); got != tc.want || len(got) > maxGeneratedNameLength {
			t.Errorf("(%q, %d) = %q, want %q", tc.job, tc.ix, got, tc.want)
		}
	}
}
