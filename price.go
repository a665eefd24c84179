package doorstep

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Money is an amount in the minor units of its currency (cents for USD or
// EUR, yen for JPY): integers, never floats, so that totals add up exactly.
type Money = int64

// MaxPriceAmount bounds every amount of a tariff (minor units): larger is
// taken as a mistake, and keeps every computation far from overflow.
const MaxPriceAmount Money = 100_000_000

// Price line kinds, in the order a Price lists them.
const (
	LineBase    = "base"    // the fixed amount of the service
	LineHours   = "hours"   // PerHour times the duration
	LineUrgent  = "urgent"  // the urgent surcharge
	LineNight   = "night"   // NightPerHour times the minutes in night hours
	LineWeekend = "weekend" // WeekendPerHour times the minutes on weekend days
)

// Tariff is the price list of one service, with the calendar its night
// and weekend surcharges read (the catalogue's "pricing" block, shared by
// every service). Amounts are in minor units of Currency.
type Tariff struct {
	// Currency is an ISO 4217 code such as "USD".
	Currency string
	// Base is charged once per booking; PerHour per hour of service,
	// prorated by the second (rounded half up, once per line).
	Base, PerHour Money
	// Urgent is charged once for an urgent booking.
	Urgent Money
	// NightPerHour is charged per hour of service inside the night
	// hours, WeekendPerHour per hour of service on a weekend day, both
	// prorated like PerHour; an hour of a weekend night pays both.
	NightPerHour, WeekendPerHour Money
	// NightStart and NightEnd are the night hours as minutes after
	// local midnight, [NightStart, NightEnd), wrapping past midnight when
	// NightEnd < NightStart (20:00 to 07:00). Equal means no night.
	NightStart, NightEnd int
	// Weekend holds the weekend days.
	Weekend []time.Weekday
	// Zone is the time zone the night hours and weekend days are read in
	// (the catalogue's pricing.time_zone).
	Zone *time.Location
}

// PriceLine is one line of a price: what is charged for, how many minutes
// it covers (for the per-hour lines), and the amount.
type PriceLine struct {
	Kind    string `json:"kind"`
	Minutes int    `json:"minutes,omitempty"`
	Amount  Money  `json:"amount"`
}

// Price is what a booking costs: its lines, in the order base, hours,
// urgent, night, weekend (a zero surcharge is left out), and their total,
// in minor units of Currency. A booking keeps the price it was made at.
type Price struct {
	Currency string      `json:"currency"`
	Lines    []PriceLine `json:"lines"`
	Total    Money       `json:"total"`
}

// Price is the price of a job of urgency u that starts at start and lasts
// d under tariff t, its night hours and weekend days read in loc (nil
// means t.Zone, and UTC when that is nil too). It is a pure function of
// its arguments.
func (t *Tariff) Price(u Urgency, start time.Time, d time.Duration, loc *time.Location) *Price {
	if loc == nil {
		loc = t.Zone
	}
	if loc == nil {
		loc = time.UTC
	}
	p := &Price{Currency: t.Currency}
	add := func(kind string, minutes int, amount Money) {
		p.Lines = append(p.Lines, PriceLine{Kind: kind, Minutes: minutes, Amount: amount})
		p.Total += amount
	}
	add(LineBase, 0, t.Base)
	secs := int64(max(d, 0) / time.Second)
	add(LineHours, minutesOf(secs), prorate(t.PerHour, secs))
	if u == Urgent && t.Urgent > 0 {
		add(LineUrgent, 0, t.Urgent)
	}
	night, weekend := t.split(start, start.Add(max(d, 0)), loc)
	if t.NightPerHour > 0 && night > 0 {
		add(LineNight, minutesOf(night), prorate(t.NightPerHour, night))
	}
	if t.WeekendPerHour > 0 && weekend > 0 {
		add(LineWeekend, minutesOf(weekend), prorate(t.WeekendPerHour, weekend))
	}
	return p
}

// prorate is perHour for secs seconds, rounded half up.
func prorate(perHour Money, secs int64) Money { return (perHour*secs + 1800) / 3600 }

// minutesOf is secs in whole minutes, rounded half up.
func minutesOf(secs int64) int { return int((secs + 30) / 60) }

// split returns how many seconds of [from, to) fall in the night hours and
// on weekend days, read in loc. It walks the range from one boundary (a
// local midnight, the night's start or end) to the next, so it costs a few
// steps a day, and is right across daylight-saving changes.
func (t *Tariff) split(from, to time.Time, loc *time.Location) (night, weekend int64) {
	hasNight := t.NightStart != t.NightEnd
	for cur := from; cur.Before(to); {
		l := cur.In(loc)
		y, m, dd := l.Date()
		day := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		next := time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
		if hasNight {
			for _, b := range []int{t.NightStart, t.NightEnd} {
				if at := day.Add(time.Duration(b) * time.Minute); at.After(cur) && at.Before(next) {
					next = at
				}
			}
		}
		if !next.After(cur) { // a clock that went back over a boundary: step a minute
			next = cur.Add(time.Minute)
		}
		if to.Before(next) {
			next = to
		}
		secs := int64(next.Sub(cur) / time.Second)
		if hasNight && t.inNight(l.Hour()*60+l.Minute()) {
			night += secs
		}
		if slices.Contains(t.Weekend, l.Weekday()) {
			weekend += secs
		}
		cur = next
	}
	return night, weekend
}

// inNight reports whether minute m after local midnight is a night minute.
func (t *Tariff) inNight(m int) bool {
	if t.NightStart < t.NightEnd {
		return m >= t.NightStart && m < t.NightEnd
	}
	return m >= t.NightStart || m < t.NightEnd
}

// pricingFile is the catalogue's "pricing" block: the calendar of the
// night and weekend surcharges and the default currency.
type pricingFile struct {
	Currency string `json:"currency"`
	TimeZone string `json:"time_zone"`
	Night    *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"night"`
	Weekend []string `json:"weekend"`
}

// tariffFile is a service's "price" in the catalogue file.
type tariffFile struct {
	Currency       string `json:"currency"`
	Base           Money  `json:"base"`
	PerHour        Money  `json:"per_hour"`
	Urgent         Money  `json:"urgent"`
	NightPerHour   Money  `json:"night_per_hour"`
	WeekendPerHour Money  `json:"weekend_per_hour"`
}

// calendar is the parsed pricing block.
type calendar struct {
	currency         string
	zone             *time.Location
	nightStart, nEnd int
	weekend          []time.Weekday
}

// parsePricing checks and parses the pricing block; nil means none.
func parsePricing(p *pricingFile) (*calendar, error) {
	c := &calendar{zone: time.UTC, weekend: []time.Weekday{time.Saturday, time.Sunday}}
	if p == nil {
		return c, nil
	}
	if p.Currency != "" {
		if !validCurrency(p.Currency) {
			return nil, fmt.Errorf("pricing.currency %q is not an ISO 4217 code (three capital letters, such as USD)", p.Currency)
		}
		c.currency = p.Currency
	}
	if p.TimeZone != "" {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil || p.TimeZone == "Local" {
			return nil, fmt.Errorf("pricing.time_zone %q is not an IANA time zone such as America/New_York", p.TimeZone)
		}
		c.zone = loc
	}
	if n := p.Night; n != nil {
		var err error
		if c.nightStart, err = clockMinutes(n.Start); err != nil {
			return nil, fmt.Errorf("pricing.night.start: %w", err)
		}
		if c.nEnd, err = clockMinutes(n.End); err != nil {
			return nil, fmt.Errorf("pricing.night.end: %w", err)
		}
		if c.nightStart == c.nEnd {
			return nil, fmt.Errorf("pricing.night: start and end are both %s: give distinct times, or no night", n.Start)
		}
	}
	if p.Weekend != nil {
		c.weekend = nil
		for i, name := range p.Weekend {
			d, ok := weekdays[strings.ToLower(name)]
			if !ok {
				return nil, fmt.Errorf("pricing.weekend[%d] %q is not a day of the week (monday ... sunday)", i, name)
			}
			if slices.Contains(c.weekend, d) {
				return nil, fmt.Errorf("pricing.weekend[%d] %q is listed twice", i, name)
			}
			c.weekend = append(c.weekend, d)
		}
	}
	return c, nil
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// clockMinutes parses "HH:MM" (00:00 to 23:59) into minutes after midnight.
func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00 to 23:59)", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// validCurrency reports whether s has the form of an ISO 4217 code.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// tariff checks service field's price f against the calendar and returns
// the tariff.
func (c *calendar) tariff(field string, f *tariffFile) (*Tariff, error) {
	cur := f.Currency
	if cur == "" {
		cur = c.currency
	}
	switch {
	case cur == "":
		return nil, fmt.Errorf("%s.currency is required (or pricing.currency)", field)
	case !validCurrency(cur):
		return nil, fmt.Errorf("%s.currency %q is not an ISO 4217 code (three capital letters, such as USD)", field, cur)
	}
	for _, a := range []struct {
		name string
		v    Money
	}{{"base", f.Base}, {"per_hour", f.PerHour}, {"urgent", f.Urgent}, {"night_per_hour", f.NightPerHour}, {"weekend_per_hour", f.WeekendPerHour}} {
		if a.v < 0 || a.v > MaxPriceAmount {
			return nil, fmt.Errorf("%s.%s must be in [0, %d] (minor units of %s)", field, a.name, MaxPriceAmount, cur)
		}
	}
	if f.NightPerHour > 0 && c.nightStart == c.nEnd {
		return nil, fmt.Errorf("%s.night_per_hour needs the night hours (pricing.night)", field)
	}
	if f.WeekendPerHour > 0 && len(c.weekend) == 0 {
		return nil, fmt.Errorf("%s.weekend_per_hour needs weekend days (pricing.weekend)", field)
	}
	return &Tariff{Currency: cur, Base: f.Base, PerHour: f.PerHour, Urgent: f.Urgent,
		NightPerHour: f.NightPerHour, WeekendPerHour: f.WeekendPerHour,
		NightStart: c.nightStart, NightEnd: c.nEnd, Weekend: c.weekend, Zone: c.zone}, nil
}
