package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Random streams: each purpose draws from its own PCG stream of the
// scenario's seed, so that changing one part of a scenario (a group's
// count, a variant) leaves every other draw as it was.
const (
	streamDemand  = 1
	streamGroup   = 1000 // + group index
	streamVariant = 2000 // + variant index: demand changes
	streamAdded   = 3000 // + variant index: added workers
)

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// scaled is count times scale, rounded, and at least 1 when count is.
func scaled(count int, scale float64) int {
	if count == 0 {
		return 0
	}
	return max(1, int(math.Round(float64(count)*scale)))
}

// buildRoster draws the workers of variant vi: every group of the roster
// (its count scaled by the scenario and by a scale_roster variant) and any
// workers the variant adds. Worker k of a group is the same in every
// variant that keeps at least k+1 workers of the group.
func (s *Scenario) buildRoster(vi int, v *Variant) ([]*doorstep.Worker, []string, error) {
	var out []*doorstep.Worker
	var regions []string
	for gi := range s.Roster.Groups {
		g := &s.Roster.Groups[gi]
		n := scaled(g.Count, s.Scale)
		if r := v.ScaleRoster; r != nil && (r.Group == g.Name || r.Skill != "" && slices.Contains(g.Skills, r.Skill)) {
			n = int(math.Round(float64(n) * r.Factor))
		}
		ws, rs, err := s.drawGroup(newRand(s.Seed, streamGroup+uint64(gi)), g, g.Homes, g.Region, g.Name, n)
		if err != nil {
			return nil, nil, err
		}
		out, regions = append(out, ws...), append(regions, rs...)
	}
	if a := v.AddWorkers; a != nil {
		g := s.group(a.Like)
		homes := a.Homes
		if len(homes) == 0 {
			homes = g.Homes
		}
		region := a.Region
		if region == "" && len(a.Homes) == 0 {
			region = g.Region
		}
		ws, rs, err := s.drawGroup(newRand(s.Seed, streamAdded+uint64(vi)), g, homes, region, fmt.Sprintf("%s-v%d", g.Name, vi), scaled(a.Count, s.Scale))
		if err != nil {
			return nil, nil, err
		}
		out, regions = append(out, ws...), append(regions, rs...)
	}
	return out, regions, nil
}

func (s *Scenario) group(name string) *Group {
	for i := range s.Roster.Groups {
		if s.Roster.Groups[i].Name == name {
			return &s.Roster.Groups[i]
		}
	}
	return nil
}

// drawGroup draws n workers like g, homed in homes (the area when empty),
// with ids prefix-0, prefix-1, ..., and their report regions (region, or
// the region of each home when empty).
func (s *Scenario) drawGroup(r *rand.Rand, g *Group, homes []Place, region, prefix string, n int) ([]*doorstep.Worker, []string, error) {
	if len(homes) == 0 {
		homes = s.areaPlaces()
	}
	pattern := func(name string) *ShiftPattern {
		for j := range s.Roster.Shifts {
			if s.Roster.Shifts[j].Name == name {
				return &s.Roster.Shifts[j]
			}
		}
		return nil
	}
	shifts := make([][]doorstep.Shift, len(g.Shifts)) // shared by the workers of a pattern
	for i, name := range g.Shifts {
		shifts[i] = s.shiftsOf(pattern(name))
	}
	var moved []doorstep.Shift
	if g.move != nil {
		moved = s.shiftsOf(pattern(g.move.To))
	}
	out := make([]*doorstep.Worker, n)
	regions := make([]string, n)
	for k := range n {
		home := pick(r, homes).point(r)
		rating := g.Rating[0] + r.Float64()*(g.Rating[1]-g.Rating[0])
		w := &doorstep.Worker{
			ID:                   fmt.Sprintf("%s-%d", prefix, k),
			Skills:               g.Skills,
			Certificates:         g.Certificates,
			Home:                 home,
			Shifts:               shifts[k%len(shifts)],
			Rating:               math.Round(rating*10) / 10,
			MaxJobsPerDay:        g.MaxJobsPerDay,
			MaxWorkMinutesPerDay: g.MaxWorkMinutesPerDay,
		}
		if _, move := g.patternOf(k, n); move {
			w.Shifts = moved
		}
		if err := w.Validate(); err != nil {
			return nil, nil, fmt.Errorf("sim: worker %s of group %s: %w", w.ID, g.Name, err)
		}
		out[k] = w
		regions[k] = region
		if region == "" {
			regions[k] = s.regionOf(home)
		}
	}
	return out, regions, nil
}

// shiftsOf repeats a daily pattern over every day that can matter: from
// the shift under way at the start to the last one a normal request of the
// horizon may be served in (24 hours after the horizon, or the last day an
// appointment booked ahead may fall on).
func (s *Scenario) shiftsOf(p *ShiftPattern) []doorstep.Shift {
	from := s.Start
	to := s.Start.Add(s.horizon() + max(doorstep.NormalStart, s.lead()+2*24*time.Hour))
	y, m, d := from.Date()
	var out []doorstep.Shift
	for k := -1; ; k++ {
		midnight := time.Date(y, m, d+k, 0, 0, 0, 0, from.Location())
		start, end := midnight.Add(p.start), midnight.Add(p.end)
		if !start.Before(to) {
			return out
		}
		if !end.After(from) {
			continue
		}
		sh := doorstep.Shift{Start: start, End: end, UrgentOvertimeMinutes: p.UrgentOvertimeMinutes}
		for _, b := range p.breaks {
			sh.Breaks = append(sh.Breaks, doorstep.Break{Earliest: midnight.Add(b.from), Latest: midnight.Add(b.to), Duration: b.d})
		}
		out = append(out, sh)
	}
}
