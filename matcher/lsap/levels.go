package lsap

import "slices"

// Levels let a search skip most of a row's arcs. Each row's arcs are
// ordered by cost into up to numLevels levels of about equal size (a rough
// bucket sort, cheaper than sorting), and the solver keeps for each level a
// lower bound of its arcs' reduced costs c - v (sparseSolver.lb). Column
// potentials only decrease once the first phase's column reduction is done,
// so such a bound stays valid however stale; each scan of the level renews
// it. When a row is scanned at distance base, a level whose bound plus base
// is no less than the distance of a free column already reached cannot
// improve the search and is skipped. Ordering by cost makes the bounds of
// the expensive levels high; on geometric costs this skips about half the
// relaxations, more on random ones.
const (
	numLevels  = 16
	firstLevel = 16 // the least level size; a row this short has one level
	sampleSize = 32 // costs sampled per row to place the level bounds
)

// buildLevels orders every row's arcs into levels, filling g.lvEnd.
func (g *csr) buildLevels() {
	g.lvEnd = grow(g.lvEnd, g.nr*numLevels)
	for i := range g.nr {
		g.levelRow(i)
	}
}

// levelRow orders row i's arcs into levels. The bounds between levels are
// costs of the row drawn at even steps and sorted, at evenly spaced ranks;
// an arc goes to the last level whose lower bound is at most its cost.
func (g *csr) levelRow(i int) {
	lo, hi := int(g.start[i]), int(g.start[i+1])
	deg := hi - lo
	ends := g.lvEnd[i*numLevels : (i+1)*numLevels]
	nl := min(numLevels, (deg+firstLevel-1)/firstLevel)
	if nl <= 1 {
		for l := range ends {
			ends[l] = int32(hi)
		}
		return
	}
	cost, col := g.cost[lo:hi], g.col[lo:hi]

	s := min(deg, sampleSize)
	g.sample = g.sample[:0]
	for k := range s {
		g.sample = append(g.sample, cost[k*deg/s])
	}
	slices.Sort(g.sample)
	var bound [numLevels]float64 // bound[l]: least cost of level l, l >= 1
	for l := 1; l < nl; l++ {
		bound[l] = g.sample[l*s/nl]
	}
	level := func(c float64) int {
		l := nl - 1
		for l > 0 && c < bound[l] {
			l--
		}
		return l
	}

	// Count, then place by level through the scratch buffers.
	var count, at [numLevels]int32
	for _, c := range cost {
		count[level(c)]++
	}
	sum := int32(0)
	for l := range numLevels {
		at[l] = sum
		sum += count[l]
		ends[l] = int32(lo) + sum
	}
	g.tmpCol = grow(g.tmpCol, deg)
	g.tmpCost = grow(g.tmpCost, deg)
	for k, c := range cost {
		l := level(c)
		g.tmpCol[at[l]], g.tmpCost[at[l]] = col[k], c
		at[l]++
	}
	copy(col, g.tmpCol)
	copy(cost, g.tmpCost)
}
