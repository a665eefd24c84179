package sim

import (
	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// urgentProfile is the urgent demand the company of the scenario expects
// (matcher.UrgentProfile), derived from the scenario's own demand model,
// never from a seed's draw: for a synthetic demand its urgent rate of each
// hour of day and skill (RequestsPerHour x the hour's profile x each
// service's weight share x its urgent share); for a replayed trace the
// urgent requests of the trace by hour of day and skill, per day of the
// horizon (the trace's urgency is set by its rules, not drawn; this treats
// the day replayed as a typical one, which a company learns from its
// past). Each rate is divided by the workers of the roster with the skill:
// the urgent calls per hour one such worker is expected to meet. Hours are
// read in the zone of the scenario's start.
func (s *Scenario) urgentProfile(workers []*doorstep.Worker, arr []arrival) *matcher.UrgentProfile {
	rate := map[string][24]float64{}
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
			skill := s.catalogue[m.Service].Skill
			if share <= 0 || total <= 0 || skill == "" {
				continue
			}
			r := rate[skill]
			for h := range r {
				r[h] += y.RequestsPerHour * s.Scale * profile[h] * m.Weight / total * share
			}
			rate[skill] = r
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
		}
	}
	staff := map[string]int{}
	for _, w := range workers {
		for _, sk := range w.Skills {
			staff[sk]++
		}
	}
	for sk, r := range rate {
		if staff[sk] == 0 {
			delete(rate, sk)
			continue
		}
		for h := range r {
			r[h] /= float64(staff[sk])
		}
		rate[sk] = r
	}
	return &matcher.UrgentProfile{Zone: s.Start.Location(), Rate: rate}
}
