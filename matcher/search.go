package matcher

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Search describes how far to look for candidates around a request: the
// straight-line reach allowed by the class and the rings of index cells that
// cover it, in the widening steps a caller should read them.
type Search struct {
	Center   geo.Cell
	ReachKm  float64
	MaxRings int
}

// DefaultNormalReachKm bounds the search for normal requests, whose 24-hour
// promise would otherwise let any worker on the continent qualify.
const DefaultNormalReachKm = 30.0

// SearchFor returns the search for req at clock reading now: urgent requests
// look as far as a worker can travel before the deadline; normal ones up to
// normalReachKm (0 means DefaultNormalReachKm).
func SearchFor(req *doorstep.Request, now time.Time, travel geo.TravelModel, normalReachKm float64) Search {
	if normalReachKm <= 0 {
		normalReachKm = DefaultNormalReachKm
	}
	reach := normalReachKm
	if req.Urgency == doorstep.Urgent {
		reach = min(travel.ReachKm(req.Deadline().Sub(now)), normalReachKm)
	}
	return Search{
		Center:   geo.IndexCell(req.Location),
		ReachKm:  reach,
		MaxRings: geo.RingsFor(geo.IndexResolution, reach),
	}
}

// Steps returns the ring bounds to widen through, as [from, to] pairs of
// ring distances: the request's own cell first, then rings 1, 2-3, 4-7 and
// so on, up to MaxRings. A caller stops widening when enough candidates
// could serve (CouldServe) and, for an urgent request, no worker farther
// out can beat the best option (Settled), so a dense city reads one or two
// steps.
//
// It is the walk of First and Next with no ring to end at: one stepping
// rule for the searches that widen step by step and the callers that want
// the whole list.
func (s Search) Steps() [][2]int {
	var steps [][2]int
	for step, ok := s.First(), true; ok; step, ok = s.Next(step, 0) {
		steps = append(steps, step)
	}
	return steps
}

// First is the first step of a search: the request's own cell.
func (s Search) First() [2]int { return [2]int{0, 0} }

// Next returns the step after step, as Steps does (doubling the rings
// read), but ending at ring need when need lies in it (SettleRings: the
// search is settled there whatever that step finds), and false when step
// reached MaxRings.
func (s Search) Next(step [2]int, need int) ([2]int, bool) {
	if step[1] >= s.MaxRings {
		return step, false
	}
	to := 2*step[1] + 1
	if need > step[1] && need < to {
		to = need
	}
	return [2]int{step[1] + 1, min(to, s.MaxRings)}, true
}

// StepCells returns the cells of the rings of one step of Steps, computing
// only the disk that step reaches: most searches end at the first step,
// while the whole reach is hundreds of cells. The slice is shared
// (geo.DiskCells): it must not be changed.
func (s Search) StepCells(step [2]int) []geo.Cell {
	return geo.DiskCells(s.Center, step[0], step[1])
}
