package api_test

import (
	"github.com/google/go-cmp/cmp"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// slotOffer is a POST /v1/slots answer on the wire.
type slotOffer struct {
	Slots []struct {
		Start     time.Time          `json:"start"`
		End       time.Time          `json:"end"`
		Cost      float64            `json:"cost"`
		Breakdown map[string]float64 `json:"breakdown"`
		Price     *doorstep.Price    `json:"price"`
	} `json:"slots"`
	Rule string `json:"rule"`
}

// aheadWorker is a cleaner with one shift 09:00-13:00 the given number of
// days after today.
func aheadWorker(id string, home doorstep.Location, days int) doorstep.Worker {
	w := newWorker(id, home)
	day := at(0, 0).AddDate(0, 0, days)
	w.Shifts = []doorstep.Shift{{Start: day.Add(9 * time.Hour), End: day.Add(13 * time.Hour)}}
	return w
}

// TestSlotsOfferAndBook: a week's range offers exactly the windows of the
// one day a worker works, ranked by cost; booking an offered window days
// ahead is an appointment inside it; once the day fills, the same window
// is answered 422 saying the day changed.
func TestSlotsOfferAndBook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, aheadWorker("w-ahead", base, 3))
	day := at(0, 0).AddDate(0, 0, 3)
	req := with(cleaning(base), "duration_minutes", 120)
	body := map[string]any{"request": req, "from": at(0, 0), "to": at(0, 0).AddDate(0, 0, 7), "slot_minutes": 60}
	r := h.do(t, http.MethodPost, "/v1/slots", keyBooking, body)
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[slotOffer](t, r)
	if got.Rule != doorstep.RuleAppointment {
		t.Errorf("rule %q, want %q", got.Rule, doorstep.RuleAppointment)
	}
	// A 2-hour job in a 09:00-13:00 shift starts 09:00-11:00: the windows
	// starting 08:00 to 11:00 hold such a start (a window holds its end).
	var starts []time.Time
	for i, s := range got.Slots {
		starts = append(starts, s.Start)
		if !s.End.Equal(s.Start.Add(time.Hour)) {
			t.Errorf("slot %d: %v-%v is not an hour", i, s.Start, s.End)
		}
		if i > 0 && s.Cost < got.Slots[i-1].Cost {
			t.Errorf("slot %d costs %v, less than the one before (%v): not ranked", i, s.Cost, got.Slots[i-1].Cost)
		}
	}
	want := map[time.Time]bool{day.Add(8 * time.Hour): true, day.Add(9 * time.Hour): true, day.Add(10 * time.Hour): true, day.Add(11 * time.Hour): true}
	if len(starts) != len(want) {
		t.Fatalf("offered %v, want the windows starting %v", starts, want)
	}
	for _, s := range starts {
		if !want[s] {
			t.Errorf("offered a window starting %v, outside the shift's starts", s)
		}
	}
	// Offering reserved nothing.
	if tl := h.mustTimeline(t, "w-ahead"); len(tl) != 0 {
		t.Errorf("an offer booked %v", tl)
	}
	// Book the cheapest window: an appointment three days ahead.
	first := got.Slots[0]
	win := doorstep.Window{Start: first.Start, End: first.End}
	b := h.mustBook(t, keyBooking, with(req, "window", win))
	if b.Rule != doorstep.RuleAppointment || !win.Contains(b.Start) || !b.Deadline.Equal(win.End) {
		t.Errorf("booked %+v, want an appointment starting in %v with deadline %v", b, win, win.End)
	}
	// The offer showed the price the booking was made at (the same start
	// and length: nothing changed in between).
	if first.Price == nil || b.Price == nil || !cmp.Equal(first.Price, b.Price) {
		t.Errorf("offered price %+v, booked at %+v: want the same", first.Price, b.Price)
	}
	// The worker's day now has 2 of its 4 hours booked: another offer
	// still holds what is left, and the other windows fill it.
	r = h.do(t, http.MethodPost, "/v1/slots", keyBooking, body)
	wantStatus(t, r, http.StatusOK)
	left := decodeBody[slotOffer](t, r).Slots
	for _, s := range left {
		h.mustBook(t, keyBooking, with(req, "window", doorstep.Window{Start: s.Start, End: s.End}))
		break
	}
	// The day is full: the window offered first is answered 422, naming the
	// appointment rule and saying the day changed.
	p := wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "window", win)), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	if p.Rule != doorstep.RuleAppointment || p.Reason == "" || !strings.Contains(p.Detail, "ask for slots again") {
		t.Errorf("problem %+v: want rule %s, a reason, and the advice to ask for slots again", p, doorstep.RuleAppointment)
	}
	r = h.do(t, http.MethodPost, "/v1/slots", keyBooking, body)
	wantStatus(t, r, http.StatusOK)
	if s := decodeBody[slotOffer](t, r).Slots; len(s) != 0 {
		t.Errorf("a full day still offers %v", s)
	}
}

// TestSlotsLimit: the limit keeps the cheapest windows; the default length
// is two hours.
func TestSlotsLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-long", base)
	w.Shifts = []doorstep.Shift{{Start: at(0, 0).AddDate(0, 0, 2).Add(6 * time.Hour), End: at(0, 0).AddDate(0, 0, 2).Add(22 * time.Hour)}}
	h.mustPutWorker(t, w)
	body := map[string]any{"request": cleaning(base), "from": at(0, 0).AddDate(0, 0, 2), "to": at(0, 0).AddDate(0, 0, 3), "limit": 3}
	r := h.do(t, http.MethodPost, "/v1/slots", keyBooking, body)
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[slotOffer](t, r).Slots
	if len(got) != 3 {
		t.Fatalf("offered %d slots, want the limit 3", len(got))
	}
	for _, s := range got {
		if s.End.Sub(s.Start) != 2*time.Hour {
			t.Errorf("slot %v-%v: want the default two hours", s.Start, s.End)
		}
	}
}

func TestSlotsInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, aheadWorker("w-1", base, 1))
	const day = 24 * time.Hour
	good := map[string]any{"request": cleaning(base), "from": now, "to": now.Add(7 * day)}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no request", without(good, "request"), "request"},
		{"request without service", with(good, "request", without(cleaning(base), "service")), "request.service"},
		{"request with a window", with(good, "request", with(cleaning(base), "window", doorstep.Window{Start: at(9, 0), End: at(10, 0)})), "request.window"},
		{"urgent request", with(good, "request", with(cleaning(base), "urgency", "urgent")), "request.urgency"},
		{"unknown field", with(good, "worker_id", "w-1"), "worker_id"},
		{"no from", without(good, "from"), "from"},
		{"no to", without(good, "to"), "to"},
		{"from not a time", with(good, "from", "monday"), "from"},
		{"to before from", with(good, "to", now.Add(-time.Hour)), "to"},
		{"to less than a slot after from", with(good, "to", now.Add(time.Hour)), "to"},
		{"range passed", with(good, "from", now.Add(-3*time.Hour), "to", now), "to"},
		{"to past the horizon", with(good, "to", now.Add(60*day+time.Second)), "to"},
		{"too many slots", with(good, "from", now.Add(-30*day), "to", now.Add(30*day), "slot_minutes", 15), "slot_minutes"},
		{"slot_minutes 0", with(good, "slot_minutes", 0), "slot_minutes"},
		{"slot_minutes 14", with(good, "slot_minutes", 14), "slot_minutes"},
		{"slot_minutes over a day", with(good, "slot_minutes", 1441), "slot_minutes"},
		{"slot_minutes huge", with(good, "slot_minutes", 1<<62), "slot_minutes"},
		{"slot_minutes not an integer", with(good, "slot_minutes", 30.5), "slot_minutes"},
		{"limit 0", with(good, "limit", 0), "limit"},
		{"limit negative", with(good, "limit", -1), "limit"},
		{"limit over 500", with(good, "limit", 501), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/slots", keyBooking, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}
	// The ops role does not book.
	wantProblem(t, h.do(t, http.MethodPost, "/v1/slots", keyOps, good), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	wantStatus(t, h.do(t, http.MethodPost, "/v1/slots", keyBooking, good), http.StatusOK)
}

// TestAppointmentAhead: a normal request with a window days ahead is booked
// inside it (the candidates read on that day's shifts), the answer naming
// the rule; without a window the 24-hour promise stays.
func TestAppointmentAhead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, aheadWorker("w-ahead", base, 10))
	day := at(0, 0).AddDate(0, 0, 10)
	win := doorstep.Window{Start: day.Add(10 * time.Hour), End: day.Add(12 * time.Hour)}
	r := h.do(t, http.MethodPost, "/v1/match", keyBooking, with(cleaning(base), "window", win))
	wantStatus(t, r, http.StatusOK)
	if m := decodeBody[match](t, r); m.Rule != doorstep.RuleAppointment || !m.Deadline.Equal(win.End) {
		t.Errorf("match rule %q deadline %v, want %q %v", m.Rule, m.Deadline, doorstep.RuleAppointment, win.End)
	}
	b := h.mustBook(t, keyBooking, with(cleaning(base), "window", win))
	if b.WorkerID != "w-ahead" || !b.Start.Equal(win.Start) || b.Rule != doorstep.RuleAppointment {
		t.Errorf("booked %+v, want w-ahead at %v as an appointment", b, win.Start)
	}
	// The day's bookings are read with the worker: the same window again
	// finds it busy (a read of the next 24 hours alone would double-book).
	p := wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(cleaning(base), "window", win)), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	if p.Rule != doorstep.RuleAppointment {
		t.Errorf("a second appointment's problem names rule %q, want %q", p.Rule, doorstep.RuleAppointment)
	}
	p = wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, cleaning(base)), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	if p.Rule != doorstep.RuleNormal {
		t.Errorf("a windowless request's problem names rule %q, want %q", p.Rule, doorstep.RuleNormal)
	}
	// Reschedule moves it to any window inside the horizon: a day later
	// the worker does not work, so 422; back onto the day, 200.
	later := doorstep.Window{Start: win.Start.Add(24 * time.Hour), End: win.End.Add(24 * time.Hour)}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/reschedule", keyBooking, map[string]any{"window": later}), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	h.mustPutWorker(t, func() doorstep.Worker {
		w := aheadWorker("w-ahead", base, 10)
		w.Shifts = append(w.Shifts, aheadWorker("w-ahead", base, 11).Shifts...)
		return w
	}())
	r = h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/reschedule", keyBooking, map[string]any{"window": later})
	wantStatus(t, r, http.StatusOK)
	if got := decodeBody[booking](t, r); !later.Contains(got.Start) || got.Rule != doorstep.RuleAppointment || !got.Deadline.Equal(later.End) {
		t.Errorf("rescheduled %+v, want an appointment in %v", got, later)
	}
}
