package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// StandbyWindow is how far back the urgent requests a standby plan
// positions workers for reach (the matcher's, which the simulator uses
// too).
const StandbyWindow = matcher.StandbyWindow

// MaxStandbyRadiusKm bounds the area of one standby plan.
const MaxStandbyRadiusKm = 30.0

// StandbyPlan is where the idle workers of urgent trades around a place
// should wait so that the next urgent calls find one close
// (matcher.PlanStandby): a recommendation for operations and the workers'
// app; nothing is booked or moved by it.
type StandbyPlan struct {
	At    time.Time
	Moves []StandbyMove
	// Idle and Busy count the workers of urgent trades on shift in the
	// area the plan weighed: idle ones it may move, busy ones it counts
	// on once free. Calls counts the recent urgent requests it positions
	// for, and Expected the urgent calls expected in the hour by skill.
	Idle, Busy, Calls int
	Expected          map[string]float64
}

// StandbyMove sends a worker from where it stands to a standby place.
type StandbyMove struct {
	WorkerID    string
	From, To    doorstep.Location
	Km          float64
	GainMinutes float64
}

// Standby plans where the idle workers within radiusKm of center should
// wait: the workers indexed in the cells of that disk (home or last
// reported position), with their bookings around now, and the urgent
// requests of center's region over the last StandbyWindow (recorded as
// they are asked for: recordUrgent). The decision is the matcher's
// (matcher.Matcher.Standby, which the simulator's standby option
// follows): the calls are weighted by the urgent profile's rate times the
// workers on shift now in the disk when the service has a profile, else
// by their own rate.
func (s *Service) Standby(ctx context.Context, center doorstep.Location, radiusKm float64) (*StandbyPlan, error) {
	if err := center.Validate("at"); err != nil {
		return nil, err
	}
	if !(radiusKm > 0 && radiusKm <= MaxStandbyRadiusKm) {
		return nil, doorstep.Errorf(doorstep.EINVALID, "radius_km", "must be in (0, %v]", MaxStandbyRadiusKm)
	}
	now := s.cfg.Now()
	region := geo.RegionOf(center).String()
	ctx = store.WithSearchRegion(ctx, region)
	search := matcher.Search{Center: geo.IndexCell(center), ReachKm: radiusKm,
		MaxRings: geo.RingsFor(geo.IndexResolution, radiusKm)}
	refs, err := s.st.WorkerIDsInCells(ctx, search.StepCells([2]int{0, search.MaxRings}))
	if err != nil {
		return nil, fmt.Errorf("standby: find workers: %w", err)
	}
	loaded, err := s.st.LoadCandidates(ctx, refs, now.Add(-dayReach), now.Add(dayReach))
	if err != nil {
		return nil, fmt.Errorf("standby: load workers: %w", err)
	}
	recent, err := s.st.RecentUrgent(ctx, region, now.Add(-StandbyWindow))
	if err != nil {
		return nil, fmt.Errorf("standby: read urgent calls: %w", err)
	}
	p := newPool()
	p.grow(len(loaded))
	for _, c := range loaded {
		p.add(c)
	}
	calls := make([]matcher.StandbyCall, 0, len(recent))
	for _, c := range recent {
		calls = append(calls, matcher.StandbyCall{At: c.Location, Skills: c.Skills, Certificates: c.Certificates})
	}
	d := s.m.Standby(now, matcher.StandbyArea{Center: center, RadiusKm: radiusKm}, p.cands, calls, StandbyWindow, matcher.StandbyConfig{})
	plan := &StandbyPlan{At: now, Idle: len(d.Workers), Busy: len(d.Busy), Calls: len(d.Calls), Expected: d.Expected}
	for _, mv := range d.Moves {
		w := d.Workers[mv.Worker]
		plan.Moves = append(plan.Moves, StandbyMove{WorkerID: w.Worker.ID,
			From: w.At, To: mv.To, Km: mv.Km, GainMinutes: mv.Gain})
	}
	return plan, nil
}
