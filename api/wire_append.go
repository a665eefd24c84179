package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doorstep-dev/doorstep"
)

// A match's answer is the API's hottest body: encoding/json spent about
// 60 µs of CPU on each, a tenth of the server's CPU a match at 1,000
// matches a second on 10,000 workers (reflection, and a sort of every
// map's keys; bench/RESULTS.md, "A match's answer written without
// reflection"). appendJSON writes the same bytes directly. Every value
// it does not write itself (a rescue, a move: rare) goes through
// json.Marshal, and a value encoding/json would refuse (a NaN, a time
// outside RFC 3339) makes it give up, so that the caller answers what
// json.Marshal answers. TestMatchJSONAsEncodingJSON holds the two equal.

// appendJSON appends m as json.Marshal encodes it; ok is false when it
// could not (the caller then uses json.Marshal).
func (m *matchJSON) appendJSON(b []byte) (_ []byte, ok bool) {
	e := jsonAppender{b: b, ok: true}
	e.raw(`{"options":`)
	if m.Options == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i := range m.Options {
			if i > 0 {
				e.raw(",")
			}
			e.option(&m.Options[i])
		}
		e.raw("]")
	}
	e.raw(`,"deadline":`)
	e.time(m.Deadline)
	e.raw(`,"rule":`)
	e.string(m.Rule)
	e.raw(`,"considered":`)
	e.int(int64(m.Considered))
	e.raw(`,"rejected":`)
	e.intMap(m.Rejected)
	e.raw(`,"outranked":`)
	e.int(int64(m.Outranked))
	if m.Rescue != nil {
		e.raw(`,"rescue":`)
		e.marshal(m.Rescue)
	}
	if len(m.Moves) > 0 {
		e.raw(`,"moves":`)
		e.marshal(m.Moves)
	}
	e.raw("}")
	return e.b, e.ok
}

// jsonAppender appends JSON as encoding/json writes it (HTML-safe
// strings, map keys in order, its float format); ok turns false at the
// first value it cannot write so.
type jsonAppender struct {
	b  []byte
	ok bool
}

func (e *jsonAppender) raw(s string) { e.b = append(e.b, s...) }

func (e *jsonAppender) int(v int64) { e.b = strconv.AppendInt(e.b, v, 10) }

func (e *jsonAppender) option(o *optionJSON) {
	e.raw(`{"worker_id":`)
	e.string(o.WorkerID)
	e.raw(`,"start":`)
	e.time(o.Start)
	e.raw(`,"end":`)
	e.time(o.End)
	e.raw(`,"arrival":`)
	e.time(o.Arrival)
	e.raw(`,"travel_minutes":`)
	e.float(o.TravelMinutes)
	e.raw(`,"distance_km":`)
	e.float(o.DistanceKm)
	e.raw(`,"cost":`)
	e.float(o.Cost)
	e.raw(`,"breakdown":{"continuity":`)
	e.float(o.Breakdown.Continuity)
	e.raw(`,"fairness":`)
	e.float(o.Breakdown.Fairness)
	e.raw(`,"overtime":`)
	e.float(o.Breakdown.Overtime)
	e.raw(`,"preferred":`)
	e.float(o.Breakdown.Preferred)
	e.raw(`,"protection":`)
	e.float(o.Breakdown.Protection)
	e.raw(`,"rating":`)
	e.float(o.Breakdown.Rating)
	e.raw(`,"travel":`)
	e.float(o.Breakdown.Travel)
	e.raw(`,"wait":`)
	e.float(o.Breakdown.Wait)
	e.raw("}")
	if o.Price != nil {
		e.raw(`,"price":`)
		e.price(o.Price)
	}
	e.raw("}")
}

func (e *jsonAppender) price(p *doorstep.Price) {
	e.raw(`{"currency":`)
	e.string(p.Currency)
	e.raw(`,"lines":`)
	if p.Lines == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i, l := range p.Lines {
			if i > 0 {
				e.raw(",")
			}
			e.raw(`{"kind":`)
			e.string(l.Kind)
			if l.Minutes != 0 {
				e.raw(`,"minutes":`)
				e.int(int64(l.Minutes))
			}
			e.raw(`,"amount":`)
			e.int(l.Amount)
			e.raw("}")
		}
		e.raw("]")
	}
	e.raw(`,"total":`)
	e.int(p.Total)
	e.raw("}")
}

// string appends s quoted. A string of printable ASCII that needs no
// escape (ids, rules, terms) is copied; any other goes through
// json.Marshal, whose escapes (HTML characters, U+2028, invalid UTF-8)
// it then has exactly.
func (e *jsonAppender) string(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			e.marshal(s)
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}

// time appends t as time.Time.MarshalJSON does, which refuses a year
// outside 0-9999 and a zone offset of a day or more.
func (e *jsonAppender) time(t time.Time) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off <= -24*60*60 || off >= 24*60*60 {
		e.ok = false
		return
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

// float appends f as encoding/json writes a float64 (its floatEncoder),
// which refuses NaN and the infinities.
func (e *jsonAppender) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.ok = false
		return
	}
	// Most values are round2's: a whole number of hundredths. Below 1e13
	// neighbouring doubles are under a hundredth apart, so the decimal of
	// those hundredths, its trailing zeros cut, is the shortest that
	// reads back as f: what strconv writes, without its search.
	if c := math.Round(f * 100); f != 0 && math.Abs(c) < 1e15 && c/100 == f {
		e.cents(int64(c))
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does.
		if n := len(e.b); n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

// cents appends c hundredths as a decimal with no trailing zero.
func (e *jsonAppender) cents(c int64) {
	if c < 0 {
		e.b = append(e.b, '-')
		c = -c
	}
	e.b = strconv.AppendInt(e.b, c/100, 10)
	switch frac := c % 100; {
	case frac == 0:
	case frac%10 == 0:
		e.b = append(e.b, '.', byte('0'+frac/10))
	default:
		e.b = append(e.b, '.', byte('0'+frac/10), byte('0'+frac%10))
	}
}

// mapKeys returns m's keys in the order encoding/json writes them.
func mapKeys(m map[string]int, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}

func (e *jsonAppender) intMap(m map[string]int) {
	if m == nil {
		e.raw("null")
		return
	}
	var buf [8]string
	e.raw("{")
	for i, k := range mapKeys(m, buf[:]) {
		if i > 0 {
			e.raw(",")
		}
		e.string(k)
		e.raw(":")
		e.int(int64(m[k]))
	}
	e.raw("}")
}

// marshal appends json.Marshal's encoding of v.
func (e *jsonAppender) marshal(v any) {
	body, err := json.Marshal(v)
	if err != nil {
		e.ok = false
		return
	}
	e.b = append(e.b, body...)
}

// appendJSON appends b as json.Marshal encodes it; ok is false when it
// could not (the caller then uses json.Marshal). A booking's answer is
// the hottest body after a match's (bench/RESULTS.md, "A booking's own
// record, copied, not decoded"); TestBookingJSONAsEncodingJSON holds the
// two equal over bookings whose every field is filled by reflection.
func (b *bookingJSON) appendJSON(buf []byte) (_ []byte, ok bool) {
	e := jsonAppender{b: buf, ok: true}
	e.raw(`{"id":`)
	e.string(b.ID)
	e.raw(`,"worker_id":`)
	e.string(b.WorkerID)
	e.raw(`,"service":`)
	e.string(b.Service)
	e.raw(`,"urgency":`)
	e.string(string(b.Urgency))
	e.raw(`,"requested_at":`)
	e.time(b.RequestedAt)
	e.raw(`,"deadline":`)
	e.time(b.Deadline)
	e.raw(`,"rule":`)
	e.string(b.Rule)
	e.raw(`,"start":`)
	e.time(b.Start)
	e.raw(`,"end":`)
	e.time(b.End)
	e.raw(`,"arrival":`)
	e.time(b.Arrival)
	e.raw(`,"status":`)
	e.string(b.Status)
	if b.Window != nil {
		e.raw(`,"window":{"start":`)
		e.time(b.Window.Start)
		e.raw(`,"end":`)
		e.time(b.Window.End)
		e.raw("}")
	}
	if b.CustomerID != "" {
		e.raw(`,"customer_id":`)
		e.string(b.CustomerID)
	}
	if b.SeriesID != "" {
		e.raw(`,"series_id":`)
		e.string(b.SeriesID)
	}
	e.raw(`,"version":`)
	e.int(b.Version)
	if !b.UpdatedAt.IsZero() {
		e.raw(`,"updated_at":`)
		e.time(b.UpdatedAt)
	}
	// The rest is rare on a new booking: encoding/json writes it.
	if b.LastChange != nil {
		e.raw(`,"last_change":`)
		e.marshal(b.LastChange)
	}
	if b.AtRisk != nil {
		e.raw(`,"at_risk":`)
		e.marshal(b.AtRisk)
	}
	if b.Progress != nil {
		e.raw(`,"progress":`)
		e.marshal(b.Progress)
	}
	if b.Price != nil {
		e.raw(`,"price":`)
		e.price(b.Price)
	}
	if b.Rescue != nil {
		e.raw(`,"rescue":`)
		e.marshal(b.Rescue)
	}
	if len(b.Moves) > 0 {
		e.raw(`,"moves":`)
		e.marshal(b.Moves)
	}
	e.raw("}")
	return e.b, e.ok
}
