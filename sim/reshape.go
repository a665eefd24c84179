package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// reshaped returns s with the roster changes of r applied (s itself when r
// is nil): shift patterns added or replaced, groups' shifts, moves and
// caps changed. The groups keep their order and names, so every worker
// keeps its random stream: the same people, homes and ratings, working
// other hours.
func (s *Scenario) reshaped(r *Reshape) *Scenario {
	if r == nil || len(r.Shifts)+len(r.Groups) == 0 {
		return s
	}
	c := *s
	c.Roster.Shifts = slices.Clone(s.Roster.Shifts)
	for _, p := range r.Shifts {
		if i := slices.IndexFunc(c.Roster.Shifts, func(q ShiftPattern) bool { return q.Name == p.Name }); i >= 0 {
			c.Roster.Shifts[i] = p
		} else {
			c.Roster.Shifts = append(c.Roster.Shifts, p)
		}
	}
	c.Roster.Groups = slices.Clone(s.Roster.Groups)
	for _, gc := range r.Groups {
		g := c.group(gc.Group)
		if gc.Shifts != nil {
			g.Shifts = slices.Clone(gc.Shifts)
		}
		if gc.Move != nil {
			m := *gc.Move
			g.move = &m
		}
		if gc.MaxJobsPerDay != nil {
			g.MaxJobsPerDay = *gc.MaxJobsPerDay
		}
		if gc.MaxWorkMinutesPerDay != nil {
			g.MaxWorkMinutesPerDay = *gc.MaxWorkMinutesPerDay
		}
	}
	return &c
}

// patternOf returns the index into g.Shifts of worker k's pattern among n
// workers, and whether a move sends it to g.move.To instead: of the
// workers on g.move.From (every len(g.Shifts)-th), the first Share of them,
// rounded, move.
func (g *Group) patternOf(k, n int) (int, bool) {
	i := k % len(g.Shifts)
	m := g.move
	if m == nil || g.Shifts[i] != m.From {
		return i, false
	}
	// The workers on pattern i are i, i+L, i+2L, ... below n; k is the
	// (k/L)-th of them.
	l := len(g.Shifts)
	on := (n - i + l - 1) / l
	return i, k/l < int(math.Round(m.Share*float64(on)))
}

// applyDurations scales the durations of the services r names, on copies
// of the arrivals; base itself is shared by the variants and unchanged.
func applyDurations(base []arrival, r *Reshape) []arrival {
	if r == nil || len(r.Durations) == 0 {
		return base
	}
	out := slices.Clone(base)
	for i := range out {
		for _, d := range r.Durations {
			if out[i].req.Service == d.Service {
				scaled := roundTo(time.Duration(float64(out[i].req.Duration)*d.Factor), 5*time.Minute)
				out[i].req.Duration = max(scaled, 5*time.Minute)
			}
		}
	}
	return out
}

// describeReshape says what a reshape changes, in a few words.
func describeReshape(r *Reshape) string {
	var parts []string
	for _, p := range r.Shifts {
		part := fmt.Sprintf("shift %s %s-%s", p.Name, p.Start, p.End)
		if p.UrgentOvertimeMinutes > 0 {
			part += fmt.Sprintf(" (urgent jobs up to %d min over)", p.UrgentOvertimeMinutes)
		}
		parts = append(parts, part)
	}
	for _, g := range r.Groups {
		if g.Shifts != nil {
			parts = append(parts, fmt.Sprintf("%s on %s", g.Group, strings.Join(g.Shifts, "+")))
		}
		if m := g.Move; m != nil {
			parts = append(parts, fmt.Sprintf("%.0f%% of %s from %s to %s", 100*m.Share, g.Group, m.From, m.To))
		}
		if g.MaxJobsPerDay != nil {
			parts = append(parts, fmt.Sprintf("%s max %d jobs/day", g.Group, *g.MaxJobsPerDay))
		}
		if g.MaxWorkMinutesPerDay != nil {
			parts = append(parts, fmt.Sprintf("%s max %d min/day", g.Group, *g.MaxWorkMinutesPerDay))
		}
	}
	for _, d := range r.Durations {
		parts = append(parts, fmt.Sprintf("%s jobs x%g", d.Service, d.Factor))
	}
	return "reshape: " + strings.Join(parts, "; ")
}
