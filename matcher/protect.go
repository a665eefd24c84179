package matcher

import (
	"fmt"
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// UrgentProfile is the urgent demand a company expects, by hour of day and
// skill, optionally by region: the source of the urgent-capacity
// protection term (Weights.Protection). It is given, not learnt while
// deciding, so a decision stays deterministic: the simulator derives it
// from its scenario's demand model and roster, the server reads it from a
// file (doorstep serve -urgent-profile).
//
// A rate is the urgent calls expected in that hour per worker with the
// skill on duty in that hour: the calls of the hour divided by the workers
// on shift then, not by the whole roster. An hour with few workers on
// duty (a night shift) is therefore dear even when few calls come, which
// is where a normal job booked early takes the capacity urgent calls
// cannot do without.
type UrgentProfile struct {
	// Zone is the time zone the hours of day are read in; nil means UTC.
	Zone *time.Location
	// Rate[skill][h] is the urgent calls expected at hour of day h per
	// worker with the skill on duty then.
	Rate map[string][24]float64
	// Regions, when set, overrides Rate for the region of a job's location
	// (geo.RegionOf(...).String()); a region absent from it uses Rate.
	Regions map[string]map[string][24]float64
	// Lead is how long before a job's departure the job still keeps its
	// worker from an urgent call: a call made up to Lead before the
	// departure needs the worker to travel to it and to serve it past
	// then (the urgent arrival promise plus a typical urgent job). Zero
	// means DefaultUrgentLead.
	Lead time.Duration
}

// DefaultUrgentLead is UrgentProfile.Lead when none is given: the urgent
// arrival promise (an hour) and an hour of service.
const DefaultUrgentLead = doorstep.UrgentArrival + time.Hour

// Validate reports whether p holds only finite, non-negative rates and a
// non-negative lead. A nil profile is valid (no protection).
func (p *UrgentProfile) Validate() error {
	if p == nil {
		return nil
	}
	if p.Lead < 0 {
		return fmt.Errorf("matcher: urgent profile lead %v is negative", p.Lead)
	}
	check := func(where string, rates map[string][24]float64) error {
		for sk, r := range rates {
			for h, v := range r {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("matcher: urgent profile %s%s hour %d: rate %v is not finite and non-negative", where, sk, h, v)
				}
			}
		}
		return nil
	}
	if err := check("", p.Rate); err != nil {
		return err
	}
	for region, rates := range p.Regions {
		if err := check("region "+region+" skill ", rates); err != nil {
			return err
		}
	}
	return nil
}

// zone is the time zone the profile's hours are read in (UTC for none).
func (p *UrgentProfile) zone() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
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
// worker w: the urgent calls it keeps the worker from, expected over the
// time the worker cannot answer one because of the job — from Lead before
// its departure (never before the clock reading: calls already made are
// known, not expected) to its end — for the worker's skills, each hour
// counted by the share of it taken. It is zero without a profile.
func (m *Matcher) protection(job schedule.Job, w *doorstep.Worker, s *schedule.Slot) float64 {
	p := m.UrgentProfile()
	if p == nil || m.cfg.Weights.Protection == 0 {
		return 0
	}
	rates := p.rates(job.Location)
	if len(rates) == 0 {
		return 0
	}
	zone := p.zone()
	lead := p.Lead
	if lead == 0 {
		lead = DefaultUrgentLead
	}
	from := latest(s.Arrival.Add(-s.Travel-lead), job.NotBefore).In(zone)
	to := s.End.In(zone)
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

func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
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

// UrgentProfile is the profile protection prices with now: the last one
// SetUrgentProfile gave, else Config.Urgent.
func (m *Matcher) UrgentProfile() *UrgentProfile {
	if p := m.learnt.Load(); p != nil {
		return p
	}
	return m.cfg.Urgent
}

// SetUrgentProfile replaces the urgent profile for every decision from now
// on (the server's learnt one, refreshed as requests come); nil goes back
// to Config.Urgent. Evaluations that start after the call use it.
func (m *Matcher) SetUrgentProfile(p *UrgentProfile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.learnt.Store(p)
	return nil
}
