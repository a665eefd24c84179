package geo

import "testing"

// TestKeptStartsOverAtItsWeight: a kept cache holds values until their
// weight would pass its bound, then starts over with the new one.
func TestKeptStartsOverAtItsWeight(t *testing.T) {
	k := newKept[int, []Cell](10, func(c []Cell) int { return len(c) })
	k.put(1, make([]Cell, 4))
	k.put(2, make([]Cell, 6))
	k.put(2, make([]Cell, 6)) // again: weighed once
	if _, ok := k.get(1); !ok {
		t.Fatal("a value within the bound was dropped")
	}
	k.put(3, make([]Cell, 1))
	if _, ok := k.get(1); ok {
		t.Error("past its bound the cache kept its old values")
	}
	if v, ok := k.get(3); !ok || len(v) != 1 || k.weight != 1 {
		t.Errorf("after starting over: %v %v, weight %d; want the new value alone", v, ok, k.weight)
	}
}
