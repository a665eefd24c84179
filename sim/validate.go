package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// Bounds of a scenario's settings.
const (
	maxHorizonHours = 7 * 24
	maxScale        = 100.0
	maxCount        = 1_000_000
	maxRatePerHour  = 1_000_000.0
	maxVariants     = 64
	maxListLen      = 1000
)

// bad returns the validation error for field.
func bad(field, format string, args ...any) error {
	return doorstep.Errorf(doorstep.EINVALID, field, format, args...)
}

// finite reports whether x is a finite number in [lo, hi].
func finite(x, lo, hi float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= lo && x <= hi
}

// validate checks s and fills in its defaults. The first problem is
// returned as an *doorstep.Error naming the field.
func (s *Scenario) validate() error {
	if s.Name == "" {
		s.Name = "scenario"
	}
	if len(s.Name) > 200 {
		return bad("name", "at most 200 characters")
	}
	if s.Start.IsZero() {
		return bad("start", "required: the beginning of the horizon in RFC 3339, e.g. 2025-06-02T00:00:00+02:00")
	}
	// A fixed offset, never the machine's local zone: the report must not
	// depend on where it runs.
	_, off := s.Start.Zone()
	s.Start = s.Start.In(time.FixedZone("", off))
	if s.HorizonHours == 0 {
		s.HorizonHours = 24
	}
	if !finite(s.HorizonHours, 1.0/60, maxHorizonHours) {
		return bad("horizon_hours", "must be in (0, %d]", maxHorizonHours)
	}
	if s.Scale == 0 {
		s.Scale = 1
	}
	if !finite(s.Scale, 1e-6, maxScale) {
		return bad("scale", "must be in (0, %v]", maxScale)
	}
	if d := s.Disruptions; d != nil {
		if err := d.validate("disruptions"); err != nil {
			return err
		}
	}
	if s.Replications == 0 {
		s.Replications = 1
	}
	if s.Replications < 1 || s.Replications > MaxReplications {
		return bad("replications", "must be in [1, %d]", MaxReplications)
	}
	if a := s.Area; a != nil {
		if err := a.Center.Validate("area.center"); err != nil {
			return err
		}
		if !finite(a.RadiusKm, 0, 500) {
			return bad("area.radius_km", "must be in [0, 500]")
		}
	}
	if err := s.validateModel(); err != nil {
		return err
	}
	if err := s.Policy.validate("policy"); err != nil {
		return err
	}
	if err := s.validateRegions(); err != nil {
		return err
	}
	if err := s.Roster.validate(s.Area != nil); err != nil {
		return err
	}
	if err := s.Demand.validate(s); err != nil {
		return err
	}
	return s.validateVariants()
}

// validateModel checks the travel model, the matcher's settings and the
// catalogue.
func (s *Scenario) validateModel() error {
	t := &s.Travel
	switch {
	case t.Detour != 0 && !finite(t.Detour, 1, 5):
		return bad("travel.detour", "must be in [1, 5]")
	case t.SpeedKmh != 0 && !finite(t.SpeedKmh, 1, 200):
		return bad("travel.speed_kmh", "must be in [1, 200]")
	case len(t.HourSpeedKmh) != 0 && len(t.HourSpeedKmh) != 24:
		return bad("travel.hour_speed_kmh", "must have 24 entries, one per hour, or none")
	case t.OverheadMinutes != nil && !finite(*t.OverheadMinutes, 0, 60):
		return bad("travel.overhead_minutes", "must be in [0, 60]")
	}
	for h, v := range t.HourSpeedKmh {
		if v != 0 && !finite(v, 1, 200) {
			return bad(fmt.Sprintf("travel.hour_speed_kmh[%d]", h), "must be 0 (the default speed) or in [1, 200]")
		}
	}
	if t.Table != "" {
		table, err := geo.ParseTable(strings.NewReader(t.Table), s.linear())
		if err != nil {
			return bad("travel.table", "%v", err)
		}
		s.table = table
	}
	m := &s.Matching
	switch {
	case m.Candidates < 0 || m.Candidates > 10000:
		return bad("matching.candidates", "must be in [0, 10000] (0: %d)", matcher.DefaultWant)
	case !finite(m.NormalReachKm, 0, 500):
		return bad("matching.normal_reach_km", "must be in [0, 500]")
	case m.MaxRounds < 0 || m.MaxRounds > 1000:
		return bad("matching.max_rounds", "must be in [0, 1000]")
	}
	if m.Candidates == 0 {
		m.Candidates = matcher.DefaultWant
	}
	if m.Weights != nil {
		if _, err := matcher.New(matcher.Config{Weights: *m.Weights}); err != nil {
			return bad("matching.weights", "must be finite and non-negative")
		}
	}
	s.catalogue = doorstep.DefaultCatalogue()
	if len(s.Catalogue) > 0 {
		c, err := doorstep.ParseCatalogue(s.Catalogue)
		if err != nil {
			return bad("catalogue", "%v", err)
		}
		s.catalogue = c
	}
	return nil
}

func (p *Policy) validate(field string) error {
	switch p.Name {
	case "":
		p.Name = PolicyInsertion
	case PolicyInsertion, PolicyGreedy, PolicyBatch:
	default:
		return bad(field+".name", "unknown policy %q: want %s, %s or %s", p.Name, PolicyInsertion, PolicyGreedy, PolicyBatch)
	}
	if p.BatchSeconds < 0 || p.BatchSeconds > 3600 {
		return bad(field+".batch_seconds", "must be in [0, 3600] (0: 60)")
	}
	if p.NormalBatchSeconds < 0 || p.NormalBatchSeconds > 4*3600 {
		return bad(field+".normal_batch_seconds", "must be in [0, 14400] (0: batch_seconds)")
	}
	if p.Standby && p.Name != PolicyInsertion {
		return bad(field+".standby", "only the insertion policy sends workers to standby")
	}
	if p.Name != PolicyBatch {
		if p.BatchSeconds != 0 {
			return bad(field+".batch_seconds", "only the batch policy takes a period")
		}
		if p.NormalBatchSeconds != 0 {
			return bad(field+".normal_batch_seconds", "only the batch policy takes a period")
		}
		return nil
	}
	if p.BatchSeconds == 0 {
		p.BatchSeconds = 60
	}
	if p.NormalBatchSeconds == 0 {
		p.NormalBatchSeconds = p.BatchSeconds
	}
	return nil
}

func (s *Scenario) validateRegions() error {
	r := &s.Regions
	if r.H3Resolution == 0 {
		r.H3Resolution = 5
	}
	if r.H3Resolution < 0 || r.H3Resolution > 15 {
		return bad("regions.h3_resolution", "must be in [0, 15]")
	}
	if len(r.Named) > maxListLen {
		return bad("regions.named", "at most %d regions", maxListLen)
	}
	seen := map[string]bool{}
	for i := range r.Named {
		f := fmt.Sprintf("regions.named[%d]", i)
		n := &r.Named[i]
		if n.Name == "" || len(n.Name) > 64 {
			return bad(f+".name", "1-64 characters required")
		}
		if n.Name == otherRegion || seen[n.Name] {
			return bad(f+".name", "region %q is named twice or reserved", n.Name)
		}
		seen[n.Name] = true
		if len(n.Places) == 0 {
			return bad(f+".places", "at least one place is required")
		}
		if err := validPlaces(f+".places", n.Places); err != nil {
			return err
		}
	}
	return nil
}

// validate checks a place and parses its cell.
func (p *Place) validate(field string) error {
	switch {
	case (p.Center == nil) == (p.Cell == ""):
		return bad(field, "give exactly one of center (with radius_km) or cell")
	case !finite(p.RadiusKm, 0, 500):
		return bad(field+".radius_km", "must be in [0, 500]")
	case p.Cell != "" && p.RadiusKm != 0:
		return bad(field+".radius_km", "a cell takes no radius")
	case !finite(p.Weight, 0, 1e9):
		return bad(field+".weight", "must be a finite non-negative number")
	}
	if p.Center != nil {
		return p.Center.Validate(field + ".center")
	}
	c, err := geo.ParseCell(p.Cell)
	if err != nil {
		return bad(field+".cell", "%v", err)
	}
	p.cell = c
	return nil
}

func validPlaces(field string, ps []Place) error {
	if len(ps) > maxListLen {
		return bad(field, "at most %d places", maxListLen)
	}
	total := 0.0
	for i := range ps {
		if err := ps[i].validate(fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
		total += ps[i].weight()
	}
	if len(ps) > 0 && total <= 0 {
		return bad(field, "the weights must not all be zero")
	}
	return nil
}

// validate checks a range within [lo, hi].
func (r Range) validate(field string, lo, hi float64) error {
	if len(r) != 2 || !finite(r[0], lo, hi) || !finite(r[1], lo, hi) || r[0] > r[1] {
		return bad(field, "must be [min, max] with %v <= min <= max <= %v", lo, hi)
	}
	return nil
}

func (r *Roster) validate(haveArea bool) error {
	if len(r.Shifts) == 0 {
		return bad("roster.shifts", "at least one shift pattern is required")
	}
	if len(r.Shifts) > maxListLen {
		return bad("roster.shifts", "at most %d shift patterns", maxListLen)
	}
	names := map[string]bool{}
	for i := range r.Shifts {
		if err := r.Shifts[i].validate(fmt.Sprintf("roster.shifts[%d]", i)); err != nil {
			return err
		}
		if names[r.Shifts[i].Name] {
			return bad(fmt.Sprintf("roster.shifts[%d].name", i), "shift pattern %q is named twice", r.Shifts[i].Name)
		}
		names[r.Shifts[i].Name] = true
	}
	if len(r.Groups) == 0 {
		return bad("roster.groups", "at least one group of workers is required")
	}
	if len(r.Groups) > maxListLen {
		return bad("roster.groups", "at most %d groups", maxListLen)
	}
	groups := map[string]bool{}
	for i := range r.Groups {
		g := &r.Groups[i]
		f := fmt.Sprintf("roster.groups[%d]", i)
		switch {
		case !validName(g.Name):
			return bad(f+".name", "1-40 letters, digits, '.', '_' or '-' required")
		case groups[g.Name]:
			return bad(f+".name", "group %q is named twice", g.Name)
		case g.Count < 0 || g.Count > maxCount:
			return bad(f+".count", "must be in [0, %d]", maxCount)
		case len(g.Skills) == 0:
			return bad(f+".skills", "at least one skill is required")
		case len(g.Shifts) == 0:
			return bad(f+".shifts", "at least one shift pattern is required")
		case len(g.Homes) == 0 && !haveArea:
			return bad(f+".homes", "required when the scenario has no area")
		case g.MaxJobsPerDay < 0 || g.MaxJobsPerDay > 100:
			return bad(f+".max_jobs_per_day", "must be in [0, 100] (0: no cap)")
		case g.MaxWorkMinutesPerDay < 0 || g.MaxWorkMinutesPerDay > 24*60:
			return bad(f+".max_work_minutes_per_day", "must be in [0, 1440] (0: no cap)")
		case len(g.Region) > 64:
			return bad(f+".region", "at most 64 characters")
		}
		groups[g.Name] = true
		for _, l := range []struct {
			name string
			list []string
		}{{"skills", g.Skills}, {"certificates", g.Certificates}} {
			if len(l.list) > doorstep.MaxListLen {
				return bad(f+"."+l.name, "at most %d entries", doorstep.MaxListLen)
			}
			for j, v := range l.list {
				if !doorstep.ValidID(v) {
					return bad(fmt.Sprintf("%s.%s[%d]", f, l.name, j), "not a valid name")
				}
			}
		}
		for j, sh := range g.Shifts {
			if !names[sh] {
				return bad(fmt.Sprintf("%s.shifts[%d]", f, j), "unknown shift pattern %q", sh)
			}
		}
		if err := validPlaces(f+".homes", g.Homes); err != nil {
			return err
		}
		if g.Rating == nil {
			g.Rating = Range{4, 5}
		}
		if err := g.Rating.validate(f+".rating", 0, 5); err != nil {
			return err
		}
	}
	return nil
}

// validName is a group name: short enough to prefix worker ids.
func validName(s string) bool { return len(s) <= 40 && doorstep.ValidID(s) }

func (p *ShiftPattern) validate(f string) error {
	if p.Name == "" || len(p.Name) > 64 {
		return bad(f+".name", "1-64 characters required")
	}
	start, err := parseClock(p.Start)
	if err != nil {
		return bad(f+".start", "%v", err)
	}
	end, err := parseClock(p.End)
	if err != nil {
		return bad(f+".end", "%v", err)
	}
	if end <= start {
		end += 24 * time.Hour
	}
	p.start, p.end = start, end
	if len(p.Breaks) > doorstep.MaxBreaks {
		return bad(f+".breaks", "at most %d breaks a shift", doorstep.MaxBreaks)
	}
	if p.UrgentOvertimeMinutes < 0 || p.UrgentOvertimeMinutes > doorstep.MaxUrgentOvertimeMinutes {
		return bad(f+".urgent_overtime_minutes", "must be in [0, %d] (0: none)", doorstep.MaxUrgentOvertimeMinutes)
	}
	if end+time.Duration(p.UrgentOvertimeMinutes)*time.Minute > start+24*time.Hour {
		return bad(f+".urgent_overtime_minutes", "the overtime must end before the next day's shift starts")
	}
	p.breaks = p.breaks[:0]
	// The breaks on a reference day, checked by the rule of worker
	// profiles (doorstep.Shift.ValidateBreaks), which names the fields
	// of the pattern as they are named here.
	day := time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)
	sh := doorstep.Shift{Start: day.Add(start), End: day.Add(end)}
	for j, b := range p.Breaks {
		bf := fmt.Sprintf("%s.breaks[%d]", f, j)
		flexible := b.Earliest != "" || b.Latest != "" || b.Minutes != 0
		fromKey, toKey, from, to := "start", "end", b.Start, b.End
		if flexible {
			if b.Start != "" || b.End != "" {
				return bad(bf+".earliest", "a break is either fixed (start, end) or flexible (earliest, latest, minutes), not both")
			}
			fromKey, toKey, from, to = "earliest", "latest", b.Earliest, b.Latest
		}
		bs, err := parseClock(from)
		if err != nil {
			return bad(bf+"."+fromKey, "%v", err)
		}
		be, err := parseClock(to)
		if err != nil {
			return bad(bf+"."+toKey, "%v", err)
		}
		// A break belongs to its shift: times before the shift's start are
		// on the next day.
		if bs < start {
			bs += 24 * time.Hour
		}
		if be <= bs {
			be += 24 * time.Hour
		}
		d := be - bs
		if flexible {
			if b.Minutes <= 0 {
				return bad(bf+".minutes", "minutes must be a positive whole number")
			}
			d = time.Duration(b.Minutes) * time.Minute
		}
		p.breaks = append(p.breaks, breakOffsets{from: bs, to: be, d: d})
		sh.Breaks = append(sh.Breaks, doorstep.Break{Earliest: day.Add(bs), Latest: day.Add(be), Duration: d})
	}
	return sh.ValidateBreaks(f)
}

// parseClock parses "HH:MM" (00:00 to 24:00) into the time since midnight.
func parseClock(s string) (time.Duration, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("clock time %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("clock time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func (d *Demand) validate(s *Scenario) error {
	if (d.Synthetic == nil) == (d.Replay == nil) {
		return bad("demand", "give exactly one of synthetic or replay")
	}
	if w := d.Windows; w != nil {
		if !finite(w.Share, 0, 1) {
			return bad("demand.windows.share", "must be in [0, 1]")
		}
		if err := w.StartAfterHours.validate("demand.windows.start_after_hours", 0, 24); err != nil {
			return err
		}
		if err := w.LengthHours.validate("demand.windows.length_hours", 0.25, 24); err != nil {
			return err
		}
		if w.ClockHours != nil {
			if err := w.ClockHours.validate("demand.windows.clock_hours", 0, 24); err != nil {
				return err
			}
			if w.ClockHours[0] == w.ClockHours[1] {
				return bad("demand.windows.clock_hours", "from must be before to")
			}
		}
	}
	if a := d.Ahead; a != nil {
		if !finite(a.Share, 0, 1) {
			return bad("demand.ahead.share", "must be in [0, 1]")
		}
		if err := a.LeadDays.validate("demand.ahead.lead_days", 1, doorstep.DefaultHorizon.Hours()/24); err != nil {
			return err
		}
		if a.LengthHours != nil {
			if err := a.LengthHours.validate("demand.ahead.length_hours", 0.25, 24); err != nil {
				return err
			}
		}
		if a.ClockHours != nil {
			if err := a.ClockHours.validate("demand.ahead.clock_hours", 0, 24); err != nil {
				return err
			}
		}
	}
	if d.Synthetic != nil {
		return d.Synthetic.validate(s)
	}
	return d.Replay.validate(s.catalogue)
}

func (y *Synthetic) validate(s *Scenario) error {
	const f = "demand.synthetic"
	switch {
	case !finite(y.RequestsPerHour, 0, maxRatePerHour):
		return bad(f+".requests_per_hour", "must be in [0, %v]", maxRatePerHour)
	case len(y.HourlyProfile) != 0 && len(y.HourlyProfile) != 24:
		return bad(f+".hourly_profile", "must have 24 entries, one per hour of the day, or none")
	case !finite(y.UrgentShare, 0, 1):
		return bad(f+".urgent_share", "must be in [0, 1]")
	case len(y.Hotspots) == 0 && s.Area == nil:
		return bad(f+".hotspots", "required when the scenario has no area")
	case len(y.Services) == 0:
		return bad(f+".services", "at least one service is required")
	case len(y.Services) > maxListLen:
		return bad(f+".services", "at most %d services", maxListLen)
	}
	sum := 0.0
	for h, v := range y.HourlyProfile {
		if !finite(v, 0, 1e9) {
			return bad(fmt.Sprintf("%s.hourly_profile[%d]", f, h), "must be a finite non-negative weight")
		}
		sum += v
	}
	if len(y.HourlyProfile) > 0 && sum <= 0 {
		return bad(f+".hourly_profile", "the weights must not all be zero")
	}
	if err := validPlaces(f+".hotspots", y.Hotspots); err != nil {
		return err
	}
	total := 0.0
	for i := range y.Services {
		m := &y.Services[i]
		mf := fmt.Sprintf("%s.services[%d]", f, i)
		if _, ok := s.catalogue[m.Service]; !ok {
			return bad(mf+".service", "unknown service %q (known: %s)", m.Service, strings.Join(s.catalogue.Names(), ", "))
		}
		if !finite(m.Weight, 0, 1e9) {
			return bad(mf+".weight", "must be a finite non-negative weight")
		}
		total += m.Weight
		if m.UrgentShare != nil && !finite(*m.UrgentShare, 0, 1) {
			return bad(mf+".urgent_share", "must be in [0, 1]")
		}
		if m.DurationMinutes != nil {
			if err := m.DurationMinutes.validate(mf+".duration_minutes", 5, doorstep.MaxDuration.Minutes()); err != nil {
				return err
			}
		}
	}
	if total <= 0 {
		return bad(f+".services", "the weights must not all be zero")
	}
	return nil
}

func (r *Replay) validate(cat doorstep.Catalogue) error {
	const f = "demand.replay"
	if r.Path == "" {
		return bad(f+".path", "required: the trace, relative to the scenario file")
	}
	for _, c := range []*string{&r.TimeColumn, &r.LatColumn, &r.LngColumn} {
		if len(*c) > 200 {
			return bad(f, "column names are at most 200 characters")
		}
	}
	if r.TimeColumn == "" {
		r.TimeColumn = "created"
	}
	if r.LatColumn == "" {
		r.LatColumn = "latitude"
	}
	if r.LngColumn == "" {
		r.LngColumn = "longitude"
	}
	if len(r.Rules) > maxListLen || len(r.Skip) > maxListLen {
		return bad(f+".rules", "at most %d rules and %d skip entries", maxListLen, maxListLen)
	}
	if !finite(r.DedupeMinutes, 0, 24*60) {
		return bad(f+".dedupe_minutes", "must be in [0, 1440]")
	}
	for i := range r.Rules {
		if err := r.Rules[i].validate(fmt.Sprintf("%s.rules[%d]", f, i), cat); err != nil {
			return err
		}
		if len(r.Rules[i].Where) == 0 {
			return bad(fmt.Sprintf("%s.rules[%d].where", f, i), "a rule needs at least one column to match (use default for the rest)")
		}
	}
	if r.Default != nil {
		if len(r.Default.Where) != 0 {
			return bad(f+".default.where", "the default matches every row left: it takes no where")
		}
		if err := r.Default.validate(f+".default", cat); err != nil {
			return err
		}
	}
	for i, w := range r.Skip {
		if len(w) == 0 {
			return bad(fmt.Sprintf("%s.skip[%d]", f, i), "an empty skip entry would skip every row")
		}
	}
	if len(r.Rules) == 0 && r.Default == nil {
		return bad(f+".rules", "at least one rule or a default is required")
	}
	return nil
}

func (r *ReplayRule) validate(f string, cat doorstep.Catalogue) error {
	if _, ok := cat[r.Service]; !ok {
		return bad(f+".service", "unknown service %q (known: %s)", r.Service, strings.Join(cat.Names(), ", "))
	}
	if !r.Urgency.Valid() {
		return bad(f+".urgency", "must be %q or %q", doorstep.Urgent, doorstep.Normal)
	}
	if r.DurationMinutes != nil {
		return r.DurationMinutes.validate(f+".duration_minutes", 5, doorstep.MaxDuration.Minutes())
	}
	return nil
}

func (s *Scenario) validateVariants() error {
	if len(s.Variants) > maxVariants {
		return bad("variants", "at most %d variants", maxVariants)
	}
	names := map[string]bool{}
	for i := range s.Variants {
		v := &s.Variants[i]
		f := fmt.Sprintf("variants[%d]", i)
		if v.Name == "" || len(v.Name) > 64 {
			return bad(f+".name", "1-64 characters required")
		}
		if names[v.Name] {
			return bad(f+".name", "variant %q is named twice", v.Name)
		}
		names[v.Name] = true
		changes := 0
		if v.Policy != nil {
			changes++
			if err := v.Policy.validate(f + ".policy"); err != nil {
				return err
			}
		}
		if r := v.ScaleRoster; r != nil {
			changes++
			if err := s.validateScaleRoster(f+".scale_roster", r); err != nil {
				return err
			}
		}
		if a := v.AddWorkers; a != nil {
			changes++
			if !slices.ContainsFunc(s.Roster.Groups, func(g Group) bool { return g.Name == a.Like }) {
				return bad(f+".add_workers.like", "unknown group %q", a.Like)
			}
			if a.Count < 1 || a.Count > maxCount {
				return bad(f+".add_workers.count", "must be in [1, %d]", maxCount)
			}
			if err := validPlaces(f+".add_workers.homes", a.Homes); err != nil {
				return err
			}
			if len(a.Region) > 64 {
				return bad(f+".add_workers.region", "at most 64 characters")
			}
		}
		if u := v.ScaleUrgent; u != nil {
			changes++
			switch {
			case !finite(u.Factor, 0, maxScale):
				return bad(f+".scale_urgent.factor", "must be in [0, %v]", maxScale)
			case !finite(u.FromHour, 0, s.HorizonHours):
				return bad(f+".scale_urgent.from_hour", "must be in [0, horizon_hours]")
			case !finite(u.ToHour, 0, s.HorizonHours) || u.ToHour <= u.FromHour:
				return bad(f+".scale_urgent.to_hour", "must be in (from_hour, horizon_hours]")
			}
		}
		if r := v.Reshape; r != nil {
			changes++
			if err := s.validateReshape(f+".reshape", r); err != nil {
				return err
			}
		}
		if changes > 1 {
			return bad(f, "a variant changes one thing: give at most one of policy, scale_roster, add_workers, scale_urgent, reshape (a reshape may hold several changes of the roster)")
		}
	}
	return nil
}

func (s *Scenario) validateScaleRoster(f string, r *ScaleRoster) error {
	if (r.Group == "") == (r.Skill == "") {
		return bad(f, "give exactly one of group or skill")
	}
	if !finite(r.Factor, 0, maxScale) {
		return bad(f+".factor", "must be in [0, %v]", maxScale)
	}
	for _, g := range s.Roster.Groups {
		if g.Name == r.Group || slices.Contains(g.Skills, r.Skill) && r.Skill != "" {
			return nil
		}
	}
	if r.Group != "" {
		return bad(f+".group", "unknown group %q", r.Group)
	}
	return bad(f+".skill", "no group has skill %q", r.Skill)
}

// validateReshape checks a reshape variant against the roster.
func (s *Scenario) validateReshape(f string, r *Reshape) error {
	if len(r.Shifts)+len(r.Groups)+len(r.Durations) == 0 {
		return bad(f, "a reshape needs at least one change")
	}
	if len(r.Shifts) > maxListLen || len(r.Groups) > maxListLen || len(r.Durations) > maxListLen {
		return bad(f, "at most %d changes of each kind", maxListLen)
	}
	shifts := map[string]bool{}
	for _, p := range s.Roster.Shifts {
		shifts[p.Name] = true
	}
	seen := map[string]bool{}
	for i := range r.Shifts {
		pf := fmt.Sprintf("%s.shifts[%d]", f, i)
		if err := r.Shifts[i].validate(pf); err != nil {
			return err
		}
		if seen[r.Shifts[i].Name] {
			return bad(pf+".name", "shift pattern %q is named twice", r.Shifts[i].Name)
		}
		seen[r.Shifts[i].Name] = true
		shifts[r.Shifts[i].Name] = true
	}
	for i := range r.Groups {
		c := &r.Groups[i]
		gf := fmt.Sprintf("%s.groups[%d]", f, i)
		g := s.group(c.Group)
		if g == nil {
			return bad(gf+".group", "unknown group %q", c.Group)
		}
		if c.Shifts == nil && c.Move == nil && c.MaxJobsPerDay == nil && c.MaxWorkMinutesPerDay == nil {
			return bad(gf, "give at least one of shifts, move, max_jobs_per_day, max_work_minutes_per_day")
		}
		if c.Shifts != nil && len(c.Shifts) == 0 {
			return bad(gf+".shifts", "at least one shift pattern is required")
		}
		for j, name := range c.Shifts {
			if !shifts[name] {
				return bad(fmt.Sprintf("%s.shifts[%d]", gf, j), "unknown shift pattern %q", name)
			}
		}
		if m := c.Move; m != nil {
			has := g.Shifts
			if c.Shifts != nil {
				has = c.Shifts
			}
			switch {
			case !slices.Contains(has, m.From):
				return bad(gf+".move.from", "group %q does not work shift %q", c.Group, m.From)
			case !shifts[m.To]:
				return bad(gf+".move.to", "unknown shift pattern %q", m.To)
			case !finite(m.Share, 1e-9, 1):
				return bad(gf+".move.share", "must be in (0, 1]")
			}
		}
		if n := c.MaxJobsPerDay; n != nil && (*n < 0 || *n > 100) {
			return bad(gf+".max_jobs_per_day", "must be in [0, 100] (0: no cap)")
		}
		if n := c.MaxWorkMinutesPerDay; n != nil && (*n < 0 || *n > 24*60) {
			return bad(gf+".max_work_minutes_per_day", "must be in [0, 1440] (0: no cap)")
		}
	}
	for i, d := range r.Durations {
		df := fmt.Sprintf("%s.durations[%d]", f, i)
		if _, ok := s.catalogue[d.Service]; !ok {
			return bad(df+".service", "unknown service %q", d.Service)
		}
		if !finite(d.Factor, 0.05, 10) {
			return bad(df+".factor", "must be in [0.05, 10]")
		}
	}
	return nil
}
