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
// positions workers for reach.
const StandbyWindow = 24 * time.Hour

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
// they are asked for: recordUrgent). The calls are weighted by the urgent
// profile when the service has one, else by their own rate.
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
	onDuty := map[string]int{}
	for _, c := range loaded {
		if !p.add(c) {
			continue
		}
		if w := c.Worker; w.ShiftAt(now) != nil && geo.DistanceKm(w.PositionAt(now), center) <= radiusKm {
			for _, sk := range w.Skills {
				onDuty[sk]++
			}
		}
	}
	calls := make([]matcher.StandbyCall, 0, len(recent))
	for _, c := range recent {
		calls = append(calls, matcher.StandbyCall{At: c.Location, Skills: c.Skills, Certificates: c.Certificates})
	}
	perHour := matcher.StandbyPerHour(s.m.UrgentProfile(), center, now, onDuty, calls, StandbyWindow)
	calls = matcher.WeighStandbyCalls(calls, perHour)
	urgent := func(skill string) bool { return perHour[skill] > 0 }

	var ws []matcher.StandbyWorker
	var busy []matcher.StandbyCover
	for i := range p.cands {
		c := &p.cands[i]
		if at, ok := matcher.StandbyReady(c, now, urgent); ok {
			if geo.DistanceKm(at, center) <= radiusKm {
				ws = append(ws, matcher.StandbyWorker{Worker: c.Worker, At: at})
			}
		} else if b, ok := matcher.StandbyBusy(c, now, urgent); ok {
			busy = append(busy, b)
		}
	}
	plan := &StandbyPlan{At: now, Idle: len(ws), Busy: len(busy), Calls: len(calls), Expected: perHour}
	for _, mv := range matcher.PlanStandby(s.m.Config().Travel, now, ws, busy, calls, matcher.StandbyConfig{}) {
		plan.Moves = append(plan.Moves, StandbyMove{WorkerID: ws[mv.Worker].Worker.ID,
			From: ws[mv.Worker].At, To: mv.To, Km: mv.Km, GainMinutes: mv.Gain})
	}
	return plan, nil
}
