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

// Learning the urgent profile. Every urgent request the service is asked
// to book is counted by region, skill and UTC hour of day (Store.
// RecordUrgent); LearnUrgentProfile turns the counts of the last days into
// the profile urgent-capacity protection prices with: for each region,
// skill and hour, the urgent calls of a day divided by the workers with
// the skill on duty then (the unit of matcher.UrgentProfile). The workers
// on duty are read from the roster (their shifts over the coming week).
// A region with no worker of a skill uses the whole deployment's figure.

// recordUrgent counts an urgent request and keeps its place, best effort:
// losing a count to a Redis hiccup costs a little protection or standby
// planning, never a booking.
func (s *Service) recordUrgent(ctx context.Context, req *doorstep.Request, now time.Time) {
	if req.Urgency != doorstep.Urgent {
		return
	}
	_ = s.st.RecordUrgent(ctx, geo.RegionOf(req.Location).String(), store.UrgentCall{
		At: now, Location: req.Location, Skills: req.Skills, Certificates: req.Certificates})
}

// LearnUrgentProfile builds the urgent profile from the urgent requests of
// the last days (at most store.UrgentDays, and since counting began) and
// the roster as it is at now. It returns nil, and no error, while there is
// not one whole day of counts (or no urgent request) yet: no protection
// until the service knows where urgent calls come.
func (s *Service) LearnUrgentProfile(ctx context.Context, days int) (*matcher.UrgentProfile, error) {
	now := s.cfg.Now()
	// The roster: workers with each skill on duty at each UTC hour of day,
	// averaged over the coming week, by region.
	type onDuty = map[string]*[24]float64 // skill -> hour
	duty := map[string]onDuty{}           // region -> ...
	all := onDuty{}
	from, to := now, now.Add(7*24*time.Hour)
	for after := ""; ; {
		page, err := s.st.ListWorkers(ctx, store.WorkerQuery{After: after, Limit: store.MaxWorkerPage})
		if err != nil {
			return nil, fmt.Errorf("learn urgent profile: %w", err)
		}
		for _, w := range page.Workers {
			region := geo.RegionOf(w.Home).String()
			if duty[region] == nil {
				duty[region] = onDuty{}
			}
			hours := dutyHours(w, from, to)
			for _, sk := range w.Skills {
				for _, d := range []onDuty{duty[region], all} {
					if d[sk] == nil {
						d[sk] = new([24]float64)
					}
					for h := range 24 {
						d[sk][h] += hours[h] / 7
					}
				}
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	counts, err := s.st.UrgentCounts(ctx, days, now)
	if err != nil {
		return nil, fmt.Errorf("learn urgent profile: %w", err)
	}
	if counts.Days == 0 || len(counts.Counts) == 0 {
		return nil, nil
	}
	rate := func(calls int, workers float64) float64 {
		return float64(calls) / float64(counts.Days) / max(workers, 1)
	}
	p := &matcher.UrgentProfile{Zone: time.UTC, Rate: map[string][24]float64{}, Regions: map[string]map[string][24]float64{}}
	pooled := map[string][24]int{}
	for region, bySkill := range counts.Counts {
		rs := map[string][24]float64{}
		for sk, c := range bySkill {
			var r [24]float64
			d := duty[region][sk]
			for h := range 24 {
				workers := 0.0
				if d != nil {
					workers = d[h]
				}
				r[h] = rate(c[h], workers)
			}
			rs[sk] = r
			t := pooled[sk]
			for h := range 24 {
				t[h] += c[h]
			}
			pooled[sk] = t
		}
		p.Regions[region] = rs
	}
	for sk, c := range pooled {
		var r [24]float64
		for h := range 24 {
			workers := 0.0
			if d := all[sk]; d != nil {
				workers = d[h]
			}
			r[h] = rate(c[h], workers)
		}
		p.Rate[sk] = r
	}
	return p, nil
}

// dutyHours is, for each UTC hour of day, how many of the days in [from,
// to) w is on shift at the middle of that hour.
func dutyHours(w *doorstep.Worker, from, to time.Time) [24]float64 {
	var out [24]float64
	for _, sh := range w.Shifts {
		if !sh.End.After(from) || !sh.Start.Before(to) {
			continue
		}
		for t := sh.Start.UTC().Truncate(time.Hour); t.Before(sh.End); t = t.Add(time.Hour) {
			mid := t.Add(30 * time.Minute)
			if mid.Before(sh.Start) || !mid.Before(sh.End) || mid.Before(from) || !mid.Before(to) {
				continue
			}
			out[mid.Hour()]++
		}
	}
	return out
}

// Matcher is the decision core the service decides with (Config.Matcher),
// for the server to give it a learnt urgent profile.
func (s *Service) Matcher() *matcher.Matcher { return s.m }
