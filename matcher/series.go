package matcher

import (
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// SeriesMiss is an occurrence of a series nobody can take, and why
// (MainReason of the region's candidates).
type SeriesMiss struct {
	Occurrence int
	Reason     string
}

// SeriesPlan places the occurrences of a recurring request.
type SeriesPlan struct {
	// Options holds each occurrence's option, nil where it is missed.
	Options []*Option
	Missed  []SeriesMiss
	// Region holds every worker of the plan: it is booked in one step.
	Region string
	// Expect is the version of each worker the plan places on.
	Expect map[string]int64
}

// PlanSeries places the occurrences occ of a recurring normal request,
// preferring one worker for all of them (continuity): the candidate who can
// take the most occurrences, at the least total cost, takes those; each
// remaining occurrence goes to its best candidate of the same region,
// matched around the occurrences already placed, and those nobody can take
// are missed with the reason. ok is false when no candidate can take any
// occurrence (the caller explains the first one).
func (m *Matcher) PlanSeries(occ []*doorstep.Request, cands []Candidate, now time.Time, hist History) (plan SeriesPlan, ok bool) {
	return m.PlanSeriesKeeping(occ, cands, now, hist, "")
}

// PlanSeriesKeeping is PlanSeries for a series already served by worker
// keep (the roll-forward of its later occurrences): keep stays the
// continuity worker when it can take as many of occ as any candidate,
// whatever the cost; "" prefers nobody.
func (m *Matcher) PlanSeriesKeeping(occ []*doorstep.Request, cands []Candidate, now time.Time, hist History, keep string) (plan SeriesPlan, ok bool) {
	jobs := make([]schedule.Job, len(occ))
	for k, r := range occ {
		jobs[k] = schedule.JobFor(r, now)
	}
	// The continuity worker: the one who can take the most occurrences,
	// then keep, then at the least total cost.
	bestW, bestN, bestCost := -1, 0, 0.0
	var bestPlan []*Option
	for i := range cands {
		opts, n, cost := m.planOn(occ, jobs, cands[i], hist)
		kept, bestKept := keep != "" && cands[i].Worker.ID == keep, bestW >= 0 && cands[bestW].Worker.ID == keep
		if n > bestN || (n == bestN && n > 0 && (kept && !bestKept || kept == bestKept && cost < bestCost)) {
			bestW, bestN, bestCost, bestPlan = i, n, cost, opts
		}
	}
	if bestW < 0 {
		return SeriesPlan{}, false
	}
	plan = SeriesPlan{Options: make([]*Option, len(occ)), Region: cands[bestW].Region, Expect: map[string]int64{}}
	// Work on copies of the region's candidates, whose timelines take the
	// occurrences as they are placed.
	var region []Candidate
	for _, c := range cands {
		if c.Region == plan.Region {
			region = append(region, c)
		}
	}
	place := func(k int, o *Option) {
		plan.Options[k] = o
		plan.Expect[o.WorkerID] = o.Version
		for i := range region {
			if region[i].Worker.ID == o.WorkerID {
				region[i].Timeline = region[i].Timeline.Insert(occurrenceStop(k, occ[k], o))
			}
		}
	}
	// The continuity worker's occurrences first, so the others are matched
	// around them; then each leftover on its best worker.
	for k := range occ {
		if bestPlan[k] != nil {
			place(k, bestPlan[k])
		}
	}
	for k, r := range occ {
		if bestPlan[k] != nil {
			continue
		}
		res := m.Match(r, region, now, hist)
		if len(res.Options) == 0 {
			plan.Missed = append(plan.Missed, SeriesMiss{Occurrence: k, Reason: MainReason(res.Rejected)})
			continue
		}
		place(k, &res.Options[0])
	}
	return plan, true
}

// planOn places the occurrences one after another on candidate c alone and
// returns, per occurrence, its option there (nil where it does not fit),
// how many fit and their total cost.
func (m *Matcher) planOn(occ []*doorstep.Request, jobs []schedule.Job, c Candidate, hist History) ([]*Option, int, float64) {
	plan := make([]*Option, len(occ))
	n, cost := 0, 0.0
	for k, r := range occ {
		o, reason := m.Evaluate(r, jobs[k], &c, hist)
		if reason != "" {
			if k == 0 && (reason == ReasonSkills || reason == ReasonCertificates || reason == ReasonExcluded) {
				return plan, 0, 0 // never qualified: skip the rest
			}
			continue
		}
		plan[k] = &o
		n++
		cost += o.Cost
		c.Timeline = c.Timeline.Insert(occurrenceStop(k, r, &o))
	}
	return plan, n, cost
}

// occurrenceStop is the stop occurrence k of a series takes in its
// worker's timeline while the series is planned.
func occurrenceStop(k int, r *doorstep.Request, o *Option) schedule.Stop {
	return schedule.Stop{BookingID: fmt.Sprintf("occurrence-%d", k),
		Arrival: o.Slot.Arrival, Start: o.Slot.Start, End: o.Slot.End, Location: r.Location}
}
