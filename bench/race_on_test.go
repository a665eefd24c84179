//go:build race

package bench

// raceEnabled reports whether the race detector is on: the soak skips
// itself, since the detector's slowdown would be what it measures.
const raceEnabled = true
