package dispatch_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// change changes the world under the bookings of the property test: an
// absence, a skill removed, a cap lowered, a profile restored, a
// retirement (two at most) or a job overrunning; then it checks what the
// re-plan did to the worker's bookings (replanned).
func (w *propWorld) change() {
	now := w.e.clk.Now()
	if w.r.IntN(5) == 0 {
		w.overrun()
		return
	}
	// District electricians stay as they are: the rescues need them.
	i := len(propDistricts) + w.r.IntN(len(w.ws)-len(propDistricts))
	old := w.ws[i]
	if w.retired[old.ID] {
		return
	}
	next := *old
	next.Shifts = slices.Clone(old.Shifts)
	next.Skills = slices.Clone(old.Skills)
	var rp *dispatch.Replanned
	var err error
	put := func() {
		_, rp, err = w.e.svc.PutWorker(w.t.Context(), &next)
	}
	before := w.bookingsOf(old.ID)
	switch k := w.r.IntN(10); {
	case k < 4:
		start := now.Add(time.Duration(w.r.IntN(10*60)) * time.Minute)
		away := doorstep.Window{Start: start, End: start.Add(time.Duration(60+w.r.IntN(4*60)) * time.Minute)}
		w.last = fmt.Sprintf("absence of %s %v..%v", old.ID, away.Start, away.End)
		var got *doorstep.Worker
		got, rp, err = w.e.svc.Absent(w.t.Context(), old.ID, away)
		if err == nil {
			next = *got
		}
	case k < 6 && len(old.Skills) > 1:
		next.Skills = slices.Delete(next.Skills, 0, 1)
		w.last = fmt.Sprintf("%s loses skill %s", old.ID, old.Skills[0])
		put()
	case k < 8 && old.MaxJobsPerDay > 1:
		// Never below the jobs already over on a day: those cannot move.
		over, perDay := 0, map[string]int{}
		zone := w.orig[old.ID].Shifts[0].Start.Location()
		for _, b := range before {
			if !b.End.After(now) {
				d := b.Start.In(zone).Format(time.DateOnly)
				perDay[d]++
				over = max(over, perDay[d])
			}
		}
		next.MaxJobsPerDay = max(old.MaxJobsPerDay-1, over, 1)
		w.last = fmt.Sprintf("%s capped at %d jobs a day", old.ID, next.MaxJobsPerDay)
		put()
	case k < 9 || len(w.retired) >= 2:
		next = *w.orig[old.ID]
		w.last = fmt.Sprintf("%s back to its first profile", old.ID)
		put()
	default:
		w.last = "retire " + old.ID
		rp, err = w.e.svc.RetireWorker(w.t.Context(), old.ID)
		if err == nil {
			w.retired[old.ID] = true
			w.counts["retire"]++
		}
	}
	if err != nil {
		w.t.Fatalf("%s: %v", w.last, err)
	}
	if !w.retired[old.ID] {
		// Locations are kept by the service as reported; the model keeps
		// the profile.
		p := next
		w.ws[i] = &p
	}
	w.counts["world changed"]++
	w.replanned(old.ID, before, rp)
}

// overrun makes a job under way run 15-90 minutes past its planned end.
func (w *propWorld) overrun() {
	now := w.e.clk.Now()
	var under []*doorstep.Booking
	for _, id := range w.ids {
		if b := w.want[id]; b.Status == doorstep.StatusConfirmed && !now.Before(b.Arrival) && now.Before(b.End) {
			under = append(under, b)
		}
	}
	if len(under) == 0 {
		return
	}
	b := under[w.r.IntN(len(under))]
	end := b.End.Add(time.Duration(1+w.r.IntN(6)) * 15 * time.Minute)
	w.last = fmt.Sprintf("overrun of %v until %v", b, end)
	before := w.bookingsOf(b.WorkerID)
	got, rp, err := w.e.svc.Overrun(w.t.Context(), b.ID, end)
	if err != nil {
		w.t.Fatalf("%s: %v", w.last, err)
	}
	if got.ID != b.ID || !got.End.Equal(end) || got.WorkerID != b.WorkerID || !got.Start.Equal(b.Start) {
		w.t.Errorf("overrun answered %v, want %s ending %v", got, b.ID, end)
	}
	b.End = end
	w.overran[b.ID] = true
	w.counts["overrun"]++
	w.counts["world changed"]++
	w.touched(b.ID)
	w.replanned(b.WorkerID, slices.DeleteFunc(before, func(x *doorstep.Booking) bool { return x.ID == b.ID }), rp)
}

// bookingsOf returns copies of the model's confirmed bookings of worker id.
func (w *propWorld) bookingsOf(id string) []*doorstep.Booking {
	var out []*doorstep.Booking
	for _, bid := range w.ids {
		if b := w.want[bid]; b.WorkerID == id && b.Status == doorstep.StatusConfirmed {
			c := *b
			out = append(out, &c)
		}
	}
	return out
}

// replanned checks what a re-plan did to the bookings the worker had
// (before) and learns it: each is still confirmed; one moved went to a
// worker in dispatch that qualifies and was not excluded, inside its
// promise (checkLevel, later), never earlier than told when it has no
// window, not into the past; one left in place is at risk or fits (the
// window checks); the answer's counts match.
func (w *propWorld) replanned(id string, before []*doorstep.Booking, rp *dispatch.Replanned) {
	now := w.e.clk.Now()
	moved, atRisk := 0, 0
	for _, old := range before {
		got, err := w.e.st.GetBooking(w.t.Context(), old.ID)
		if err != nil {
			w.t.Fatalf("GetBooking(%s): %v", old.ID, err)
		}
		if got.Status != doorstep.StatusConfirmed {
			w.t.Errorf("re-plan cancelled %v", got)
		}
		if got.AtRisk != nil && got.End.After(now) {
			atRisk++
			if got.AtRisk.Reason == "" {
				w.t.Errorf("%v at risk without a reason", got)
			}
		}
		if got.WorkerID != old.WorkerID || !got.Start.Equal(old.Start) || !got.End.Equal(old.End) {
			moved++
			switch {
			case got.AtRisk != nil:
				w.t.Errorf("moved %v still at risk", got)
			case got.LastChange == nil || got.LastChange.Reason != doorstep.ChangeReplan:
				w.t.Errorf("moved %v with last change %+v", got, got.LastChange)
			case w.retired[got.WorkerID]:
				w.t.Errorf("moved %v onto retired %s", got, got.WorkerID)
			case !slices.Contains(w.worker(got.WorkerID).Skills, got.Service):
				w.t.Errorf("moved %v onto %s, who lacks the skill", got, got.WorkerID)
			case slices.Contains(w.excluded[got.ID], got.WorkerID):
				w.t.Errorf("moved %v onto %s, whom its customer excluded", got, got.WorkerID)
			case !old.Arrival.After(now):
				w.t.Errorf("moved %v, under way since %v", old, old.Arrival)
			case got.Arrival.Before(now):
				w.t.Errorf("moved %v into the past (arrival %v)", got, got.Arrival)
			case got.End.Sub(got.Start) != old.End.Sub(old.Start):
				w.t.Errorf("moved %v, lasting %v, from %v", got, got.End.Sub(got.Start), old)
			case got.Urgency == doorstep.Normal && got.Window == nil && got.Start.Before(old.Start):
				w.t.Errorf("moved %v earlier than its customer was told (%v)", got, old.Start)
			}
			if err := checkLevel(got); err != nil {
				w.t.Errorf("moved out of its promise: %v", err)
			}
			w.placed = append(w.placed, got.ID)
			w.counts["replan moved"]++
		} else if got.AtRisk != nil && old.AtRisk == nil {
			w.counts["replan at risk"]++
		}
		c := *got
		w.want[got.ID] = &c
	}
	if rp.Moved != moved || rp.AtRisk != atRisk {
		w.t.Errorf("%s: answered %+v, but %d moved and %d at risk", w.last, *rp, moved, atRisk)
	}
}

// verifyFit checks a worker's day: without its bookings at risk, and past
// its overrunning jobs (each followed by no stop before it ends and the
// travel from it, within its shift), schedule.Verify accepts it. It also
// reports whether the day holds a trip that must be made before a break
// (tripBeforeBreak). A retired worker has no day to check.
func (w *propWorld) verifyFit(wk *doorstep.Worker, bs []*doorstep.Booking) (beforeBreak bool, err error) {
	if w.retired[wk.ID] {
		return false, nil
	}
	var fit []*doorstep.Booking
	for _, b := range bs {
		if b.AtRisk == nil {
			fit = append(fit, b)
		}
	}
	tl := schedule.TimelineOf(fit)
	var rest schedule.Timeline
	for i, s := range tl {
		if !w.overran[s.BookingID] {
			rest = append(rest, s)
			continue
		}
		if i+1 < len(tl) {
			n := &tl[i+1]
			need := s.End
			if sh := shiftOf(wk, &schedule.Stop{Start: s.Start, End: s.Start}); sh != nil && n.Start.Before(sh.End) {
				need = need.Add(geo.Linear{}.Travel(s.Location, n.Location, s.End))
			}
			if n.Start.Before(need) {
				return false, fmt.Errorf("stop %s starts %v, before overrunning %s ends %v and its worker gets there", n.BookingID, n.Start, s.BookingID, s.End)
			}
		}
	}
	for i := 1; i < len(rest); i++ {
		beforeBreak = beforeBreak || tripBeforeBreak(wk, &rest[i-1], &rest[i])
	}
	return beforeBreak, schedule.Verify(wk, rest, geo.Linear{})
}
