package matcher

// NearCounting appends to dst the workers in the search's rings that keep
// accepts, widening step by step until at least want of them are also
// accepted by count or the reach is covered. keep and count may be nil
// (accept all). With count = CouldServe it is the server's candidate
// search: every qualified worker read is kept (so that an unservable
// request is explained by all of them), but only those who could serve
// count towards want.
func (ix *Index) NearCounting(dst []int, s Search, want int, keep, count func(i int) bool) []int {
	n := 0
	for _, step := range s.Steps() {
		for _, c := range s.StepCells(step) {
			for _, i := range ix.cells[c] {
				if keep != nil && !keep(i) {
					continue
				}
				dst = append(dst, i)
				if count == nil || count(i) {
					n++
				}
			}
		}
		if n >= want {
			break
		}
	}
	return dst
}
