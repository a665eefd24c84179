package dispatch

import (
	"fmt"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	// rrule-go (teambition) parses and expands the rule: a maintained
	// iCalendar RRULE implementation (a port of python-dateutil's rrule,
	// the reference most calendars are checked against), pure Go with no
	// dependencies, which keeps the wall-clock time of DTSTART in its
	// time zone across DST changes. Writing RFC 5545's expansion by hand
	// is how calendars get BYDAY/INTERVAL/UNTIL edge cases wrong.
	"github.com/teambition/rrule-go"
)

// Recurrence repeats a normal booking. It is either an iCalendar rule
// (RRule, in the subset ParseRecurrence accepts) or the older form
// IntervalDays and Count, which is FREQ=DAILY;INTERVAL=IntervalDays;
// COUNT=Count; not both.
type Recurrence struct {
	IntervalDays int
	Count        int
	// RRule is an iCalendar RRULE value (RFC 5545 section 3.3.10), e.g.
	// "FREQ=WEEKLY;BYDAY=TU,FR;COUNT=8": FREQ (DAILY or WEEKLY), INTERVAL,
	// COUNT, UNTIL, BYDAY (weekdays without an ordinal) and WKST. The
	// first window's start is its DTSTART.
	RRule string
	// TimeZone is the IANA name of the zone whose wall clock the
	// occurrences keep (a 09:00 Tuesday stays 09:00 local across a DST
	// change); UNTIL without "Z" is read in it. "" means UTC.
	TimeZone string
}

// Limits of a recurrence. The older form keeps its own: at most
// MaxOccurrences occurrences, MaxIntervalDays apart. Every series spans at
// most MaxSeriesSpanDays from its first occurrence's start to its last's,
// and a rule has at most MaxRuleOccurrences occurrences (every weekday of
// a year).
const (
	MaxOccurrences     = 52
	MaxIntervalDays    = 90
	MaxSeriesSpanDays  = 366
	MaxRuleOccurrences = 262
	// MaxWindowHours bounds each occurrence's window: its start is
	// promised within it, like a normal request's within 24 hours.
	MaxWindowHours = 24
)

// seriesRule is a parsed, checked recurrence.
type seriesRule struct {
	text string // the RRULE as given, without "RRULE:"
	zone string // the IANA name, "UTC" by default
	opt  rrule.ROption
	loc  *time.Location
}

// ruleField names the rule in errors: the older form's fields, or
// recurrence.rrule.
const ruleField = "recurrence.rrule"

// parseRecurrence checks rec and returns its rule.
func parseRecurrence(rec Recurrence) (*seriesRule, error) {
	legacy := rec.IntervalDays != 0 || rec.Count != 0
	switch {
	case rec.RRule != "" && legacy:
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence", "give either rrule or interval_days and count, not both")
	case rec.RRule == "" && (rec.Count < 1 || rec.Count > MaxOccurrences):
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.count", "count must be in [1, %d]", MaxOccurrences)
	case rec.RRule == "" && (rec.IntervalDays < 1 || rec.IntervalDays > MaxIntervalDays):
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.interval_days", "interval_days must be in [1, %d]", MaxIntervalDays)
	case rec.RRule == "" && (rec.Count-1)*rec.IntervalDays > MaxSeriesSpanDays:
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.count", "a series spans at most %d days", MaxSeriesSpanDays)
	}
	zone := rec.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.time_zone", "time_zone must be an IANA time zone name such as Europe/Berlin")
	}
	text := strings.TrimPrefix(strings.TrimSpace(rec.RRule), "RRULE:")
	if rec.RRule == "" {
		text = fmt.Sprintf("FREQ=DAILY;INTERVAL=%d;COUNT=%d", rec.IntervalDays, rec.Count)
	}
	if len(text) > 256 {
		return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "an rrule has at most 256 characters")
	}
	if strings.ContainsAny(text, "\r\n") || strings.Contains(text, "DTSTART") || strings.Contains(text, "TZID") {
		return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "give the RRULE value alone: its DTSTART is window.start, its zone recurrence.time_zone")
	}
	opt, err := rrule.StrToROptionInLocation(text, loc)
	if err != nil {
		return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "not an iCalendar RRULE: %v", err)
	}
	if err := supported(opt); err != nil {
		return nil, err
	}
	return &seriesRule{text: text, zone: zone, opt: *opt, loc: loc}, nil
}

// supported refuses the parts of RFC 5545 Doorstep does not take, naming
// the first.
func supported(o *rrule.ROption) error {
	if o.Freq != rrule.DAILY && o.Freq != rrule.WEEKLY {
		return doorstep.Errorf(doorstep.EINVALID, ruleField, "FREQ=%s is not supported: FREQ must be DAILY or WEEKLY", o.Freq)
	}
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"BYSETPOS", len(o.Bysetpos) > 0}, {"BYMONTH", len(o.Bymonth) > 0}, {"BYMONTHDAY", len(o.Bymonthday) > 0},
		{"BYYEARDAY", len(o.Byyearday) > 0}, {"BYWEEKNO", len(o.Byweekno) > 0}, {"BYHOUR", len(o.Byhour) > 0},
		{"BYMINUTE", len(o.Byminute) > 0}, {"BYSECOND", len(o.Bysecond) > 0}, {"BYEASTER", len(o.Byeaster) > 0},
	} {
		if p.set {
			return doorstep.Errorf(doorstep.EINVALID, ruleField, "%s is not supported (FREQ, INTERVAL, COUNT, UNTIL, BYDAY and WKST are)", p.name)
		}
	}
	for _, d := range o.Byweekday {
		if d.N() != 0 {
			return doorstep.Errorf(doorstep.EINVALID, ruleField, "BYDAY with an ordinal (%s) is not supported: name plain weekdays, e.g. BYDAY=TU,FR", d.String())
		}
	}
	switch {
	case o.Interval < 0 || o.Interval > MaxSeriesSpanDays:
		return doorstep.Errorf(doorstep.EINVALID, ruleField, "INTERVAL must be in [1, %d]", MaxSeriesSpanDays)
	case o.Count < 0 || o.Count > MaxRuleOccurrences:
		return doorstep.Errorf(doorstep.EINVALID, ruleField, "COUNT must be in [1, %d]", MaxRuleOccurrences)
	case o.Count == 0 && o.Until.IsZero():
		return doorstep.Errorf(doorstep.EINVALID, ruleField, "a series ends: give COUNT or UNTIL (it spans at most %d days)", MaxSeriesSpanDays)
	}
	return nil
}

// windows returns the windows of the occurrences of a series whose first
// window is first: the rule's dates from first.Start (its DTSTART, in the
// rule's zone: a start whose day the rule does not name is not itself an
// occurrence), each window as long as first. It refuses a rule whose
// occurrences span more than MaxSeriesSpanDays or number more than
// MaxRuleOccurrences, and one with none.
func (r *seriesRule) windows(first doorstep.Window) ([]doorstep.Window, error) {
	opt := r.opt
	opt.Dtstart = first.Start.In(r.loc)
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "%v", err)
	}
	span := first.Duration()
	var out []doorstep.Window
	next := rr.Iterator()
	for {
		t, ok := next()
		if !ok {
			break
		}
		switch {
		case len(out) == MaxRuleOccurrences:
			return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "a series has at most %d occurrences", MaxRuleOccurrences)
		case len(out) > 0 && t.Sub(out[0].Start) > MaxSeriesSpanDays*24*time.Hour:
			return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "a series spans at most %d days", MaxSeriesSpanDays)
		}
		out = append(out, doorstep.Window{Start: t.UTC(), End: t.Add(span).UTC()})
	}
	if len(out) == 0 {
		return nil, doorstep.Errorf(doorstep.EINVALID, ruleField, "the rule has no occurrence from window.start on (UNTIL before it?)")
	}
	return out, nil
}

// occurrenceRequest returns occurrence k's request of a series that
// repeats req (whose window is the series' first window, given) in windows
// ws: req in window ws[k], requested as long before it as the first
// occurrence was — its requested_at shifted with the window, but no
// earlier than 24 hours before the end of the first window, so each
// occurrence's window lies within 24 hours of its own requested_at, as a
// normal request's must.
func occurrenceRequest(req *doorstep.Request, ws []doorstep.Window, k int) *doorstep.Request {
	anchor := req.RequestedAt
	if a := ws[0].End.Add(-doorstep.NormalStart); a.After(anchor) {
		anchor = a
	}
	r := *req
	r.RequestedAt = anchor.Add(ws[k].Start.Sub(ws[0].Start))
	w := ws[k]
	r.Window = &w
	return &r
}

// SeriesWindows returns the windows of the occurrences of a series that
// repeats first by rec, in order: what BookSeries books (the ones within
// the horizon) and RollForward places later. A bad rule is an EINVALID
// *doorstep.Error naming its field.
func SeriesWindows(rec Recurrence, first doorstep.Window) ([]doorstep.Window, error) {
	rule, err := parseRecurrence(rec)
	if err != nil {
		return nil, err
	}
	return rule.windows(first)
}
