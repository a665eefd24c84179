//go:build race

package dispatch_test

// raceEnabled reports whether the tests run under the race detector, which
// makes the property test about nine times slower per operation.
const raceEnabled = true
