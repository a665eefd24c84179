package store

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/doorstep-dev/doorstep"
)

// A booking this process has just written is added to its worker's
// read-model entry as a later read of Redis would give it (Store.created):
// decodeBooking of the JSON encodeBooking made. Decoding that JSON again
// was 4% of the server's CPU at 500 bookings a second (bench/RESULTS.md,
// "A booking's own record, copied, not decoded"); storedCopy makes the
// same value from the booking itself. TestStoredCopyAsDecoded holds the
// two equal over random bookings whose every field is filled by
// reflection, so a field added to doorstep.Booking that the copy does not
// know fails it.

// storedCopy returns what decodeBooking(encodeBooking(b)) returns, made
// without the round trip; ok is false when it cannot vouch for that (a
// string that is not valid UTF-8, which the encoder replaces; a time
// encodeBooking would refuse or whose zone offset is not whole minutes;
// the fields a new booking never has: a change, a risk, progress), and
// the caller decodes.
func storedCopy(b *doorstep.Booking) (_ *doorstep.Booking, ok bool) {
	if b.LastChange != nil || b.AtRisk != nil || b.Progress != nil {
		return nil, false
	}
	c := *b
	ok = true
	for _, s := range [...]string{c.ID, c.WorkerID, c.Service, string(c.Urgency), c.Status, c.Cell, c.CustomerID, c.SeriesID, c.Owner} {
		ok = ok && utf8.ValidString(s)
	}
	for _, t := range [...]*time.Time{&c.RequestedAt, &c.Deadline, &c.Start, &c.End, &c.Arrival, &c.UpdatedAt} {
		*t, ok = storedTime(*t, ok)
	}
	if b.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Time{} // omitzero: left out, read back as the zero Time
	}
	if b.Window != nil {
		w := *b.Window
		w.Start, ok = storedTime(w.Start, ok)
		w.End, ok = storedTime(w.End, ok)
		c.Window = &w
	}
	for _, l := range []*[]string{&c.Skills, &c.Certificates, &c.PreferredWorkers, &c.ExcludedWorkers} {
		*l, ok = storedStrings(*l, ok) // omitempty: an empty list is read back as nil
	}
	if b.Price != nil {
		p := *b.Price
		p.Lines = slices.Clone(p.Lines) // no omitempty: nil and empty stay apart
		ok = ok && utf8.ValidString(p.Currency)
		for _, l := range p.Lines {
			ok = ok && utf8.ValidString(l.Kind)
		}
		c.Price = &p
	}
	if c.Version == 0 {
		c.Version = 1 // as decodeBooking
	}
	if !ok {
		return nil, false
	}
	return &c, true
}

// storedTime is t as time.Time's JSON encoding and decoding give it
// back (storedTimeIn time.Local).
func storedTime(t time.Time, ok bool) (time.Time, bool) { return storedTimeIn(t, time.Local, ok) }

// storedTimeIn is t written as RFC 3339 and parsed in local (as
// time.ParseInLocation does; the JSON decoder parses in time.Local): no
// monotonic reading, UTC for a zero offset (written "Z"), else local
// where local has that offset at that instant, else a fixed zone of the
// offset. It keeps ok only when the encoding takes t whole (a year in
// 0-9999, an offset of whole minutes under a day).
func storedTimeIn(t time.Time, local *time.Location, ok bool) (time.Time, bool) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 || off <= -24*60*60 || off >= 24*60*60 {
		return t, false
	}
	u := t.UTC() // no monotonic reading
	if off == 0 {
		return u, ok
	}
	if l := u.In(local); zoneOffset(l) == off {
		return l, ok
	}
	return u.In(time.FixedZone("", off)), ok
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

// storedStrings is l as an omitempty list of strings reads back: nil
// when empty, else a copy.
func storedStrings(l []string, ok bool) ([]string, bool) {
	if len(l) == 0 {
		return nil, ok
	}
	for _, s := range l {
		ok = ok && utf8.ValidString(s)
	}
	return slices.Clone(l), ok
}
