package main

import "testing"

// Each phase of a run gets its own files: a rate that comes again does
// not overwrite its earlier phase's report or profile.
func TestPhaseNamesAreDistinct(t *testing.T) {
	rates := []int{200, 500, 500, 1000, 500}
	want := []string{"200", "500", "500-2", "1000", "500-3"}
	for phase := range rates {
		if got := phaseName(rates, phase); got != want[phase] {
			t.Errorf("phase %d of %v: %q, want %q", phase, rates, got, want[phase])
		}
	}
}
