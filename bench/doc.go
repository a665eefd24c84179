// Package bench holds Doorstep's end-to-end benchmarks and the comparisons
// with peers: matching through the store on a real Redis, HTTP booking
// latency, and the assignment solver against SciPy. Results and the
// commands that reproduce them are in RESULTS.md.
package bench
