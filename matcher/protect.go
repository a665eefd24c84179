package matcher

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// UrgentProfile is the urgent demand a company expects, by hour of day and
// skill, optionally by region: the source of the urgent-capacity
// protection term (Weights.Protection). It is configured, not learnt, so a
// decision stays deterministic; learning it from recent requests can come
// later. The rates are in whatever unit the profile's author chose; the
// simulator uses urgent requests per hour per worker with the skill (the
// chance one worker is needed for an urgent call in that hour).
type UrgentProfile struct {
	// Zone is the time zone the hours of day are read in; nil means UTC.
	Zone *time.Location
	// Rate[skill][h] is the urgent demand expected at hour of day h.
	Rate map[string][24]float64
	// Regions, when set, overrides Rate for the region of a job's location
	// (geo.RegionOf(...).String()); a region absent from it uses Rate.
	Regions map[string]map[string][24]float64
}

// rates returns the profile that applies at loc.
func (p *UrgentProfile) rates(loc doorstep.Location) map[string][24]float64 {
	if len(p.Regions) > 0 {
		if r, ok := p.Regions[geo.RegionOf(loc).String()]; ok {
			return r
		}
	}
	return p.Rate
}

// protection is the urgent capacity a normal job placed at s takes from
// worker w: over the worker's busy time (departure to end), each hour's
// expected urgent demand for the worker's skills times the share of that
// hour the job takes. It is zero without a profile.
func (m *Matcher) protection(job schedule.Job, w *doorstep.Worker, s *schedule.Slot) float64 {
	p := m.cfg.Urgent
	if p == nil || m.cfg.Weights.Protection == 0 {
		return 0
	}
	rates := p.rates(job.Location)
	if len(rates) == 0 {
		return 0
	}
	zone := p.Zone
	if zone == nil {
		zone = time.UTC
	}
	from, to := s.Arrival.Add(-s.Travel).In(zone), s.End.In(zone)
	sum := 0.0
	for t := from; t.Before(to); {
		next := t.Truncate(time.Hour).Add(time.Hour) // hour boundaries (whole-hour zones)
		if next.After(to) {
			next = to
		}
		h := t.Hour()
		share := next.Sub(t).Hours()
		for _, sk := range w.Skills {
			if r, ok := rates[sk]; ok {
				sum += r[h] * share
			}
		}
		t = next
	}
	return m.cfg.Weights.Protection * sum
}

// maxShifts bounds the later starts tried for a normal job (one per hour
// boundary of its 24 hours).
const maxShifts = 24

// protectedSlot returns, for a normal job, the cheapest of the worker's
// earliest slot and its earliest slots from each later hour boundary up to
// the job's latest start: the slot protection may move later in the
// promise. best is the earliest slot and its cost.
func (m *Matcher) protectedSlot(req *doorstep.Request, job schedule.Job, w *doorstep.Worker, tl schedule.Timeline,
	hist History, best schedule.Slot, bestB Breakdown) (schedule.Slot, Breakdown) {
	at := best.Start
	for range maxShifts {
		at = at.Truncate(time.Hour).Add(time.Hour)
		if at.After(job.LatestStart) {
			break
		}
		later := job
		later.EarliestStart = at
		s, err := m.planner.EarliestSlot(w, tl, later)
		if err != nil {
			break
		}
		b := m.cost(req, job, w, &s, hist)
		if b.Total() < bestB.Total() {
			best, bestB = s, b
		}
		at = s.Start
	}
	return best, bestB
}
