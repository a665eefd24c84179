package doorstep

import (
	"encoding/json"
	"time"
)

// Break is a pause in a shift: Duration of idle time (the worker neither
// travels nor serves) that starts no earlier than Earliest and ends no later
// than Latest. A fixed break fills its range (Duration == Latest - Earliest,
// see FixedBreak): it is the window [Earliest, Latest). A flexible break
// floats: the planner keeps room for it somewhere in its range, and the
// worker takes it wherever the day leaves that room, staying where it is
// (no travel crosses a break).
//
// On the wire (BreakJSON) a fixed break is {"start", "end"}, as it always
// was, and a flexible one {"earliest", "latest", "minutes"}; a flexible
// form whose minutes fill its range is fixed and is written back as start
// and end.
type Break struct {
	Earliest time.Time
	Latest   time.Time
	Duration time.Duration
}

// FixedBreak is the break that fills [start, end).
func FixedBreak(start, end time.Time) Break {
	return Break{Earliest: start, Latest: end, Duration: end.Sub(start)}
}

// FlexibleBreak is a break of d anywhere inside [earliest, latest].
func FlexibleBreak(earliest, latest time.Time, d time.Duration) Break {
	return Break{Earliest: earliest, Latest: latest, Duration: d}
}

// Fixed reports whether b fills its range.
func (b Break) Fixed() bool { return b.Duration == b.Latest.Sub(b.Earliest) }

// BreakJSON is the wire form of a Break: Start and End for a fixed break,
// Earliest, Latest and Minutes for a flexible one; never both.
type BreakJSON struct {
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Earliest time.Time `json:"earliest,omitzero"`
	Latest   time.Time `json:"latest,omitzero"`
	Minutes  int       `json:"minutes,omitempty"`
}

// WireForm returns the type Break is written as, for decoders that check
// a body's shape before decoding it (api's strict decoding).
func (Break) WireForm() any { return BreakJSON{} }

// CheckKeys reports, as an *Error naming the field under path, a break
// object whose keys (has reports which are present) are neither the fixed
// form (start, end) nor the flexible one (earliest, latest, minutes).
func (BreakJSON) CheckKeys(path string, has func(key string) bool) error {
	field := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	fixed := has("start") || has("end")
	flexible := has("earliest") || has("latest") || has("minutes")
	want := []string{"start", "end"}
	if flexible {
		want = []string{"earliest", "latest", "minutes"}
	}
	switch {
	case fixed && flexible:
		k := "earliest"
		if !has(k) {
			k = "latest"
		}
		if !has(k) {
			k = "minutes"
		}
		return Errorf(EINVALID, field(k), "a break is either fixed (start, end) or flexible (earliest, latest, minutes), not both")
	case !fixed && !flexible:
		return Errorf(EINVALID, field("start"), "a break needs start and end (fixed), or earliest, latest and minutes (flexible)")
	}
	for _, k := range want {
		if !has(k) {
			return Errorf(EINVALID, field(k), "%s is required", k)
		}
	}
	return nil
}

// MarshalJSON writes b in its wire form.
func (b Break) MarshalJSON() ([]byte, error) {
	if b.Fixed() {
		return json.Marshal(BreakJSON{Start: b.Earliest, End: b.Latest})
	}
	return json.Marshal(BreakJSON{Earliest: b.Earliest, Latest: b.Latest, Minutes: int(b.Duration / time.Minute)})
}

// UnmarshalJSON reads either wire form. A form with a missing or extra
// key is an *Error naming it (relative to the break).
func (b *Break) UnmarshalJSON(data []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	var w BreakJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if err := w.CheckKeys("", func(k string) bool { _, ok := keys[k]; return ok }); err != nil {
		return err
	}
	if _, ok := keys["start"]; ok {
		*b = FixedBreak(w.Start, w.End)
		return nil
	}
	*b = FlexibleBreak(w.Earliest, w.Latest, time.Duration(w.Minutes)*time.Minute)
	return nil
}
