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

func TestPhaseFiles(t *testing.T) {
	rates := []int{200, 500, 500}
	for _, c := range []struct {
		file, ext string
		rates     []int
		phase     int
		want      string
	}{
		{"load.json", ".json", rates, 2, "load.500-2.json"},
		{"out/cpu", "", rates, 0, "out/cpu.200"},
		{"load.json", ".json", []int{500}, 0, "load.json"},
		{"", "", rates, 1, ""},
	} {
		if got := phaseFile(c.file, c.ext, c.rates, c.phase); got != c.want {
			t.Errorf("phaseFile(%q, %q, %v, %d) = %q, want %q", c.file, c.ext, c.rates, c.phase, got, c.want)
		}
	}
}
