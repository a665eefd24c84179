package doorstep

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// idPattern is what worker, customer and booking ids may look like: short,
// printable, safe in Redis keys and URL paths.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidID reports whether s is an acceptable id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Limits on the size of a worker profile and of a request's lists.
const (
	MaxShifts      = 62 // a month of two shifts a day
	MaxBreaks      = 8  // per shift
	MaxListLen     = 32 // skills, certificates, preferred/excluded workers
	MaxShiftLength = 24 * time.Hour
	// MaxUrgentOvertimeMinutes bounds Shift.UrgentOvertimeMinutes.
	MaxUrgentOvertimeMinutes = 240
)

// Validate reports the first problem with w as an *Error naming the field.
func (w *Worker) Validate() error {
	if !ValidID(w.ID) {
		return Errorf(EINVALID, "id", "id must be 1-64 characters of letters, digits, '.', '_' or '-'")
	}
	if err := validList("skills", w.Skills, true); err != nil {
		return err
	}
	if err := validList("certificates", w.Certificates, false); err != nil {
		return err
	}
	if w.Home == (Location{}) {
		// (0, 0) is in the Gulf of Guinea: a missing home, not a home.
		return Errorf(EINVALID, "home", "home is required")
	}
	if err := w.Home.Validate("home"); err != nil {
		return err
	}
	if w.Location != nil {
		if err := w.Location.Validate("location"); err != nil {
			return err
		}
	}
	if math.IsNaN(w.Rating) || w.Rating < 0 || w.Rating > 5 {
		return Errorf(EINVALID, "rating", "rating must be in [0, 5]")
	}
	if w.MaxJobsPerDay < 0 || w.MaxJobsPerDay > 100 {
		return Errorf(EINVALID, "max_jobs_per_day", "max_jobs_per_day must be in [0, 100] (0: no cap)")
	}
	if w.MaxWorkMinutesPerDay < 0 || w.MaxWorkMinutesPerDay > 24*60 {
		return Errorf(EINVALID, "max_work_minutes_per_day", "max_work_minutes_per_day must be in [0, 1440] (0: no cap)")
	}
	if len(w.Shifts) > MaxShifts {
		return Errorf(EINVALID, "shifts", "at most %d shifts", MaxShifts)
	}
	for i, s := range w.Shifts {
		f := fmt.Sprintf("shifts[%d]", i)
		if !s.End.After(s.Start) {
			return Errorf(EINVALID, f+".end", "shift end must be after its start")
		}
		if s.End.Sub(s.Start) > MaxShiftLength {
			return Errorf(EINVALID, f+".end", "a shift lasts at most 24 hours")
		}
		if s.UrgentOvertimeMinutes < 0 || s.UrgentOvertimeMinutes > MaxUrgentOvertimeMinutes {
			return Errorf(EINVALID, f+".urgent_overtime_minutes", "urgent_overtime_minutes must be in [0, %d] (0: none)", MaxUrgentOvertimeMinutes)
		}
		if i > 0 && s.Start.Before(w.Shifts[i-1].End) {
			return Errorf(EINVALID, f+".start", "shifts must be ordered and must not overlap")
		}
		if i > 0 && s.Start.Before(w.Shifts[i-1].EndFor(true)) {
			return Errorf(EINVALID, f+".start", "a shift must start after the previous shift's urgent overtime")
		}
		if len(s.Breaks) > MaxBreaks {
			return Errorf(EINVALID, f+".breaks", "at most %d breaks a shift", MaxBreaks)
		}
		if err := s.ValidateBreaks(f); err != nil {
			return err
		}
	}
	return nil
}

// ValidateBreaks reports the first problem with the breaks of s as an
// *Error naming the field under f ("shifts[0]"): each inside the
// shift, a flexible one of whole minutes that fit its range; listed in
// order of their earliest start; fixed breaks not overlapping each other,
// and the ranges of flexible breaks not overlapping each other (so each
// flexible break is placed on its own, and the planner's greedy placement
// is exact); a flexible range may overlap a fixed break, but must keep
// room for its minutes outside the fixed breaks.
func (s *Shift) ValidateBreaks(f string) error {
	lastFixed, lastFlex := -1, -1
	for j, b := range s.Breaks {
		bf := fmt.Sprintf("%s.breaks[%d]", f, j)
		from, to := bf+".start", bf+".end"
		if !b.Fixed() {
			from, to = bf+".earliest", bf+".latest"
		}
		switch {
		case !b.Latest.After(b.Earliest):
			return Errorf(EINVALID, to, "a break must end after it starts")
		case b.Earliest.Before(s.Start):
			return Errorf(EINVALID, from, "a break must lie inside its shift")
		case b.Latest.After(s.End):
			return Errorf(EINVALID, to, "a break must lie inside its shift")
		case b.Duration <= 0 || b.Duration%time.Minute != 0:
			return Errorf(EINVALID, bf+".minutes", "minutes must be a positive whole number")
		case b.Duration > b.Latest.Sub(b.Earliest):
			return Errorf(EINVALID, bf+".minutes", "minutes must fit between earliest and latest")
		case j > 0 && b.Earliest.Before(s.Breaks[j-1].Earliest):
			return Errorf(EINVALID, from, "breaks must be ordered by their start")
		}
		if b.Fixed() {
			if lastFixed >= 0 && b.Earliest.Before(s.Breaks[lastFixed].Latest) {
				return Errorf(EINVALID, from, "fixed breaks must not overlap")
			}
			lastFixed = j
			continue
		}
		if lastFlex >= 0 && b.Earliest.Before(s.Breaks[lastFlex].Latest) {
			return Errorf(EINVALID, from, "the ranges of flexible breaks must not overlap")
		}
		lastFlex = j
		if longestFree(s.Breaks, b.Earliest, b.Latest) < b.Duration {
			return Errorf(EINVALID, bf+".minutes", "the fixed breaks leave no room for %d minutes between earliest and latest", int(b.Duration.Minutes()))
		}
	}
	return nil
}

// longestFree is the longest span of [from, to) outside the fixed breaks
// (which are ordered and do not overlap).
func longestFree(breaks []Break, from, to time.Time) time.Duration {
	var best time.Duration
	at := from
	for _, b := range breaks {
		if !b.Fixed() || !b.Latest.After(at) {
			continue
		}
		if !b.Earliest.Before(to) {
			break
		}
		best = max(best, b.Earliest.Sub(at))
		at = b.Latest
	}
	return max(best, to.Sub(at))
}

// Validate is ValidateWithin with the DefaultHorizon.
func (r *Request) Validate(now time.Time) error { return r.ValidateWithin(now, DefaultHorizon) }

// ValidateWithin reports the first problem with r, at clock reading now,
// as an *Error naming the field, a window having to end by now + horizon
// (the booking horizon; 0 means DefaultHorizon). It expects r resolved
// against the catalogue (a known service, a duration).
func (r *Request) ValidateWithin(now time.Time, horizon time.Duration) error {
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	if r.ID != "" && !ValidID(r.ID) {
		return Errorf(EINVALID, "id", "id must be 1-64 characters of letters, digits, '.', '_' or '-'")
	}
	if !r.Urgency.Valid() {
		return Errorf(EINVALID, "urgency", "urgency must be %q or %q", Urgent, Normal)
	}
	if err := r.Location.Validate("location"); err != nil {
		return err
	}
	if r.Duration <= 0 || r.Duration > MaxDuration {
		return Errorf(EINVALID, "duration_minutes", "duration must be in (0, %d] minutes", int(MaxDuration.Minutes()))
	}
	if r.RequestedAt.IsZero() {
		return Errorf(EINVALID, "requested_at", "requested_at is required")
	}
	if r.RequestedAt.After(now.Add(time.Minute)) {
		return Errorf(EINVALID, "requested_at", "requested_at lies in the future")
	}
	if now.Sub(r.RequestedAt) > UrgentArrival && r.Urgency == Urgent {
		return Errorf(EINVALID, "requested_at", "an urgent request older than its hour can no longer be served on time")
	}
	if now.Sub(r.RequestedAt) > NormalStart {
		return Errorf(EINVALID, "requested_at", "requested_at is more than 24 hours ago")
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"skills", r.Skills}, {"certificates", r.Certificates}} {
		if err := validList(l.name, l.list, false); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"preferred_workers", r.PreferredWorkers}, {"excluded_workers", r.ExcludedWorkers}} {
		if len(l.list) > MaxListLen {
			return Errorf(EINVALID, l.name, "at most %d entries", MaxListLen)
		}
		for i, id := range l.list {
			if !ValidID(id) {
				return Errorf(EINVALID, fmt.Sprintf("%s[%d]", l.name, i), "not a valid worker id")
			}
		}
	}
	if r.CustomerID != "" && !ValidID(r.CustomerID) {
		return Errorf(EINVALID, "customer_id", "customer_id must be an opaque id of 1-64 letters, digits, '.', '_' or '-'")
	}
	if w := r.Window; w != nil {
		if r.Urgency == Urgent {
			return Errorf(EINVALID, "window", "urgent requests take no window: their promise is arrival within the hour")
		}
		if !w.End.After(w.Start) {
			return Errorf(EINVALID, "window.end", "window end must be after its start")
		}
		if !w.End.After(now) {
			return Errorf(EINVALID, "window.end", "the window has already passed")
		}
		if last := now.Add(horizon); w.End.After(last) {
			return Errorf(EINVALID, "window.end", "the window must end within the booking horizon of %s (by %s)", Days(horizon), last.Format(time.RFC3339))
		}
	}
	return nil
}

// validList checks a list of names: each a valid id, none twice (a
// duplicate is a client's mistake that would otherwise be stored and
// answered back as sent).
func validList(field string, list []string, required bool) error {
	if required && len(list) == 0 {
		return Errorf(EINVALID, field, "at least one entry is required")
	}
	if len(list) > MaxListLen {
		return Errorf(EINVALID, field, "at most %d entries", MaxListLen)
	}
	for i, s := range list {
		if !ValidID(s) {
			return Errorf(EINVALID, fmt.Sprintf("%s[%d]", field, i), "not a valid name")
		}
		if j := slices.Index(list[:i], s); j >= 0 {
			return Errorf(EINVALID, fmt.Sprintf("%s[%d]", field, i), "%q is listed twice (also at [%d])", s, j)
		}
	}
	return nil
}

// CheckWorkerSkills reports, as an *Error naming the entry, a skill of w
// that no service of c needs: no request could ever be matched to it, so
// it is a typo ("plumbin") or a catalogue the client does not share, and
// accepting it would leave the worker silently idle.
func (c Catalogue) CheckWorkerSkills(w *Worker) error {
	for i, s := range w.Skills {
		if !c.hasSkill(s) {
			return Errorf(EINVALID, fmt.Sprintf("skills[%d]", i), "no service of the catalogue needs skill %q (known: %v)", s, c.Skills())
		}
	}
	return nil
}

// Skills returns the skills the services of c need, sorted, each once.
func (c Catalogue) Skills() []string {
	var skills []string
	for _, s := range c {
		skills = append(skills, s.Skill)
	}
	slices.Sort(skills)
	return slices.Compact(skills)
}

func (c Catalogue) hasSkill(skill string) bool {
	for _, s := range c {
		if s.Skill == skill {
			return true
		}
	}
	return false
}

// The times Doorstep accepts lie in [2000-01-01, 2100-01-01) UTC. It plans
// hours and days ahead: a year 0000 or 9999 is a zero value, a sentinel or
// a typo in the client, never a plan, and 0001-01-01 (Go's zero time)
// would otherwise read as "not given".
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckTime reports an *Error naming field when t lies outside the times
// Doorstep accepts, [2000-01-01, 2100-01-01) UTC. Every time that comes
// from outside (bodies, query parameters) is checked by it.
func CheckTime(field string, t time.Time) error {
	if t.Before(minTime) || !t.Before(maxTime) {
		return Errorf(EINVALID, field, "%s is out of range: times must lie in [%s, %s)", t.Format(time.RFC3339), minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
	}
	return nil
}

// Days writes d as whole days ("60 days") when it is a whole number of
// them, else as a duration.
func Days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
