package matcher

// Widen appends to dst the workers in the search's rings that keep accepts
// (nil: all), widening step by step until enough reports that the workers
// found so far (the ones appended, in order) suffice once the rings up to
// rings are read, or the reach is covered. It is the simulator's form of
// the server's candidate search: with keep the qualification rule, enough
// counts those of found who could serve (CouldServe) against the wanted
// number and asks Settled, as dispatch does over Redis.
func (ix *Index) Widen(dst []int, s Search, keep func(i int) bool, enough func(found []int, rings int) bool) []int {
	return ix.WidenTo(dst, s, keep, func(found []int, rings int) (bool, int) { return enough(found, rings), 0 })
}

// WidenTo is Widen whose enough also names the ring the next step need not
// pass (Search.Next, Matcher.SettleRings; 0: none), as the server's
// candidate search widens.
func (ix *Index) WidenTo(dst []int, s Search, keep func(i int) bool, enough func(found []int, rings int) (bool, int)) []int {
	start := len(dst)
	for step, ok := s.First(), true; ok; {
		for _, c := range s.StepCells(step) {
			for _, i := range ix.cells[c] {
				if keep == nil || keep(i) {
					dst = append(dst, i)
				}
			}
		}
		done, need := enough(dst[start:], step[1])
		if done {
			break
		}
		step, ok = s.Next(step, need)
	}
	return dst
}
