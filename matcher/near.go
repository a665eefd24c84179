package matcher

// Widen appends to dst the workers in the search's rings that keep accepts
// (nil: all), widening step by step until enough reports that the workers
// found so far (the ones appended, in order) suffice once the rings up to
// rings are read, or the reach is covered. It is the simulator's form of
// the server's candidate search: with keep the qualification rule, enough
// counts those of found who could serve (CouldServe) against the wanted
// number and asks Settled, as dispatch does over Redis.
func (ix *Index) Widen(dst []int, s Search, keep func(i int) bool, enough func(found []int, rings int) bool) []int {
	start := len(dst)
	for _, step := range s.Steps() {
		for _, c := range s.StepCells(step) {
			for _, i := range ix.cells[c] {
				if keep == nil || keep(i) {
					dst = append(dst, i)
				}
			}
		}
		if enough(dst[start:], step[1]) {
			break
		}
	}
	return dst
}
