package sim

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// urgentProfile is the urgent demand the company of the scenario expects
// (matcher.UrgentProfile), derived from the scenario's own demand model
// and roster, never from a seed's draw: for a synthetic demand its urgent
// rate of each hour of day and skill (RequestsPerHour x the hour's profile
// x each service's weight share x its urgent share); for a replayed trace
// the urgent requests of the trace by hour of day and skill, per day of
// the horizon (the trace's urgency is set by its rules, not drawn; this
// treats the day replayed as a typical one, which a company learns from
// its past). Each rate is divided by the roster's workers with the skill
// on duty in that hour (onDuty): the urgent calls one such worker is
// expected to meet in it. The lead is the urgent arrival promise plus the
// mean duration of an urgent job of the same model. Hours are read in the
// zone of the scenario's start.
func (s *Scenario) urgentProfile(workers []*doorstep.Worker, arr []arrival) *matcher.UrgentProfile {
	rate := map[string][24]float64{}
	var calls, minutes float64 // for the mean urgent duration
	if y := s.Demand.Synthetic; y != nil {
		profile := y.hourWeights()
		total := 0.0
		for _, m := range y.Services {
			total += m.Weight
		}
		for _, m := range y.Services {
			share := y.UrgentShare
			if m.UrgentShare != nil {
				share = *m.UrgentShare
			}
			svc := s.catalogue[m.Service]
			if share <= 0 || total <= 0 || svc.Skill == "" {
				continue
			}
			r := rate[svc.Skill]
			for h := range r {
				r[h] += y.RequestsPerHour * s.Scale * profile[h] * m.Weight / total * share
			}
			rate[svc.Skill] = r
			d := svc.DefaultDuration.Minutes()
			if rg := m.DurationMinutes; len(rg) == 2 {
				d = (rg[0] + rg[1]) / 2
			}
			calls += m.Weight * share
			minutes += m.Weight * share * d
		}
	} else {
		days := max(s.horizon().Hours()/24, 1.0/24)
		for i := range arr {
			q := &arr[i].req
			if q.Urgency != doorstep.Urgent {
				continue
			}
			h := q.RequestedAt.In(s.Start.Location()).Hour()
			for _, sk := range q.Skills {
				r := rate[sk]
				r[h] += 1 / days
				rate[sk] = r
			}
			calls++
			minutes += q.Duration.Minutes()
		}
	}
	staff := s.onDuty(workers)
	for sk, r := range rate {
		on := staff[sk]
		for h := range r {
			if on[h] > 0 {
				r[h] /= on[h]
			} else {
				r[h] = 0 // nobody on duty: no capacity to protect
			}
		}
		if r == ([24]float64{}) {
			delete(rate, sk)
			continue
		}
		rate[sk] = r
	}
	p := &matcher.UrgentProfile{Zone: s.Start.Location(), Rate: rate}
	if calls > 0 {
		p.Lead = doorstep.UrgentArrival + time.Duration(minutes/calls*float64(time.Minute)).Round(time.Minute)
	}
	return p
}

// onDuty returns, by skill and hour of day, the workers with the skill on
// a shift at that hour, averaged over the days of the horizon (each hour
// of the horizon counted at its middle).
func (s *Scenario) onDuty(workers []*doorstep.Worker) map[string][24]float64 {
	zone := s.Start.Location()
	var hours [24]float64
	staff := map[string][24]float64{}
	for t := s.Start.Truncate(time.Hour); t.Before(s.Start.Add(s.horizon())); t = t.Add(time.Hour) {
		mid := t.Add(30 * time.Minute)
		h := mid.In(zone).Hour()
		hours[h]++
		for _, w := range workers {
			if w.ShiftAt(mid) == nil {
				continue
			}
			for _, sk := range w.Skills {
				r := staff[sk]
				r[h]++
				staff[sk] = r
			}
		}
	}
	for sk, r := range staff {
		for h := range r {
			if hours[h] > 0 {
				r[h] /= hours[h]
			}
		}
		staff[sk] = r
	}
	return staff
}

// UrgentProfile returns the urgent profile the simulation of s prices
// normal jobs with in its first variant (the roster of that variant, the
// demand of the scenario), for a server to load (doorstep simulate writes
// it as urgent-profile.json, doorstep serve -urgent-profile reads it).
// opts.Open is needed for a replayed trace.
func (s *Scenario) UrgentProfile(opts Options) (*matcher.UrgentProfile, error) {
	d, err := s.drawDemand(&opts)
	if err != nil {
		return nil, err
	}
	v := &s.variants()[0]
	workers, _, err := s.buildRoster(0, v)
	if err != nil {
		return nil, err
	}
	return s.urgentProfile(workers, s.variantDemand(0, v, d.arrivals)), nil
}
