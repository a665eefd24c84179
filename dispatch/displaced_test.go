package dispatch_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/google/go-cmp/cmp"
)

// The re-planning city: a lives at base, b 3 km east, c 6 km east; all
// clean, on 08:00-18:00 unless a case says otherwise. Bookings are made
// while a is alone, so that they land on a; the others join afterwards.
var (
	homeB = offset(base, 0, 3)
	homeC = offset(base, 0, 6)
)

// fixture stores a booking of req on worker at start, made now, as an
// earlier Book would have placed it (to pin exact times, a booking without
// a window among them).
func (e *env) fixture(tb testing.TB, worker string, req doorstep.Request, start time.Time) *doorstep.Booking {
	tb.Helper()
	now := e.clk.Now()
	req.RequestedAt = now
	if err := e.svc.Catalogue().Resolve(&req); err != nil {
		tb.Fatal(err)
	}
	_, ver, err := e.st.GetWorker(tb.Context(), worker)
	if err != nil {
		tb.Fatal(err)
	}
	region := geo.RegionOf(e.workers[worker].Home).String()
	o := matcher.Option{WorkerID: worker, Slot: schedule.Slot{Start: start, End: start.Add(req.Duration), Arrival: start}}
	b := matcher.BookingFor(&req, &o, store.NewBookingID(region), tenant, now)
	if err := e.st.Apply(tb.Context(), store.Change{Region: region, Expect: map[string]int64{worker: ver}, Create: []*doorstep.Booking{b}}); err != nil {
		tb.Fatal(err)
	}
	return b
}

// wantBooking checks where booking id is now: on worker at start, at risk
// with reason (or not when reason is ""), at version.
func (e *env) wantBooking(tb testing.TB, id, worker string, start time.Time, risk string, version int64) *doorstep.Booking {
	tb.Helper()
	b := e.get(tb, id)
	switch {
	case b.Status != doorstep.StatusConfirmed:
		tb.Errorf("booking %s is %s", id, b.Status)
	case b.WorkerID != worker || !b.Start.Equal(start):
		tb.Errorf("booking %s on %s at %s, want %s at %s", id, b.WorkerID, b.Start.Format("15:04"), worker, start.Format("15:04"))
	case b.Version != version:
		tb.Errorf("booking %s at version %d, want %d", id, b.Version, version)
	}
	switch {
	case risk == "" && b.AtRisk != nil:
		tb.Errorf("booking %s at risk (%+v), want not", id, b.AtRisk)
	case risk != "" && (b.AtRisk == nil || b.AtRisk.Reason != risk || !b.AtRisk.Since.Equal(e.clk.Now())):
		tb.Errorf("booking %s at risk %+v, want %q since now", id, b.AtRisk, risk)
	}
	return b
}

// verifyReplanned is verifyAll for a city where bookings may be at risk:
// every worker's timeline without them passes schedule.Verify, and every
// booking on a retired worker's timeline that is not over is at risk.
func (e *env) verifyReplanned(tb testing.TB, retired ...string) {
	tb.Helper()
	for id, w := range e.workers {
		var fit []*doorstep.Booking
		for _, b := range e.timeline(tb, id) {
			if err := checkLevel(b); err != nil {
				tb.Errorf("worker %s: %v", id, err)
			}
			if b.AtRisk == nil {
				fit = append(fit, b)
			}
		}
		if slices.Contains(retired, id) {
			for _, b := range fit {
				if b.End.After(e.clk.Now()) {
					tb.Errorf("retired worker %s keeps %v, not at risk", id, b)
				}
			}
			continue
		}
		if err := schedule.Verify(w, schedule.TimelineOf(fit), geo.Linear{}); err != nil {
			tb.Errorf("worker %s: %v", id, err)
		}
	}
}

func (o *observer) counted(cause string) [2]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.replanned[cause]
}

func TestReplanShiftCut(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	a := worker("a", base, dayShift())
	e.put(t, a)
	b1 := e.fixture(t, "a", normal(base, mins(60), at(9, 0), at(9, 30)), at(9, 0))
	b2 := e.fixture(t, "a", normal(base, mins(60), at(14, 0), at(15, 0)), at(14, 0))
	b3 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(16, 0))
	// b takes afternoons until 17:00: b3 (16:00-17:00) fits, b2 too.
	e.put(t, worker("b", homeB, []doorstep.Shift{shift(at(12, 0), at(17, 0))}))

	cut := worker("a", base, []doorstep.Shift{shift(at(8, 0), at(12, 0))})
	_, rp, err := e.svc.PutWorker(t.Context(), cut)
	if err != nil {
		t.Fatal(err)
	}
	e.workers["a"] = cut
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 2}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	e.wantBooking(t, b1.ID, "a", at(9, 0), "", 1)
	got := e.wantBooking(t, b2.ID, "b", at(14, 0), "", 2)
	if lc := got.LastChange; lc == nil || lc.Reason != doorstep.ChangeReplan || lc.PreviousWorkerID != "a" || !lc.PreviousStart.Equal(at(14, 0)) {
		t.Errorf("last change %+v, want a replan from a at 14:00", lc)
	}
	e.wantBooking(t, b3.ID, "b", at(16, 0), "", 2)
	if got := e.obs.counted(dispatch.CauseProfile); got != [2]int{2, 0} {
		t.Errorf("observed moved, at risk = %v, want [2 0]", got)
	}
	e.verifyReplanned(t)

	// The same PUT again re-plans nothing.
	if _, rp, err := e.svc.PutWorker(t.Context(), cut); err != nil || *rp != (dispatch.Replanned{}) {
		t.Errorf("PUT again: %+v, %v; want nothing re-planned", rp, err)
	}
	// The audit log records the moves with their reason.
	events, err := e.st.ReadAudit(t.Context(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	moves := 0
	for _, ev := range events {
		if ev.Action == "move" && ev.Reason == doorstep.ChangeReplan {
			moves++
		}
	}
	if moves != 2 {
		t.Errorf("%d replan moves in the audit log, want 2: %+v", moves, events)
	}
}

// TestReplanAtRisk: a childcare booking whose worker loses the certificate
// and nobody else holds one is marked at risk, listed, and cleared when the
// certificate comes back.
func TestReplanAtRisk(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	a := worker("a", base, dayShift(), "childcare")
	a.Certificates = []string{"childcare"}
	e.put(t, a)
	req := doorstep.Request{Service: "childcare", Location: base, Urgency: doorstep.Normal, Duration: mins(120),
		Window: &doorstep.Window{Start: at(10, 0), End: at(10, 30)}}
	bk := e.fixture(t, "a", req, at(10, 0))
	e.put(t, worker("b", homeB, dayShift(), "childcare")) // no certificate

	lost := worker("a", base, dayShift(), "childcare")
	_, rp, err := e.svc.PutWorker(t.Context(), lost)
	if err != nil {
		t.Fatal(err)
	}
	e.workers["a"] = lost
	if diff := cmp.Diff(rp, &dispatch.Replanned{AtRisk: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	got := e.wantBooking(t, bk.ID, "a", at(10, 0), matcher.DisplacedCertificates, 2)
	if got.LastChange == nil || got.LastChange.Reason != doorstep.ChangeAtRisk {
		t.Errorf("last change %+v, want at_risk", got.LastChange)
	}
	list, err := e.svc.AtRisk(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list); !slices.Equal(got, []string{bk.ID}) {
		t.Errorf("at risk %v, want [%s]", got, bk.ID)
	}
	if got := e.obs.counted(dispatch.CauseProfile); got != [2]int{0, 1} {
		t.Errorf("observed moved, at risk = %v, want [0 1]", got)
	}
	e.verifyReplanned(t)
	// Another PUT that still cannot serve it leaves the mark as it is.
	lost.Rating = 4
	if _, rp, err := e.svc.PutWorker(t.Context(), lost); err != nil || *rp != (dispatch.Replanned{AtRisk: 1}) {
		t.Errorf("PUT again: %+v, %v; want the one at risk left", rp, err)
	}
	e.wantBooking(t, bk.ID, "a", at(10, 0), matcher.DisplacedCertificates, 2)

	// The certificate is back: the mark is cleared, the list empty.
	e.clk.Advance(mins(5))
	if _, rp, err := e.svc.PutWorker(t.Context(), a); err != nil || *rp != (dispatch.Replanned{Restored: 1}) {
		t.Errorf("certificate back: %+v, %v; want one restored", rp, err)
	}
	e.workers["a"] = a
	e.wantBooking(t, bk.ID, "a", at(10, 0), "", 3)
	if list, err := e.svc.AtRisk(t.Context(), 10); err != nil || len(list) != 0 {
		t.Errorf("at risk %v, %v; want none", ids(list), err)
	}
	e.verifyReplanned(t)
}

// TestReplanRetire: a's 09:00 job (window 09:00-09:30) has nobody (b starts
// at 12:00) and stays at risk on the retired a; its 14:00 job goes to b.
// The owner can then reschedule the one at risk to b.
func TestReplanRetire(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()))
	early := e.fixture(t, "a", normal(base, mins(60), at(9, 0), at(9, 30)), at(9, 0))
	late := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(14, 0))
	e.put(t, worker("b", homeB, []doorstep.Shift{shift(at(12, 0), at(18, 0))}))

	rp, err := e.svc.RetireWorker(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 1, AtRisk: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	if _, err := e.svc.Worker(t.Context(), "a"); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("retired worker: %v, want not found", err)
	}
	e.wantBooking(t, early.ID, "a", at(9, 0), matcher.DisplacedRetired, 2)
	e.wantBooking(t, late.ID, "b", at(14, 0), "", 2)
	if got := e.obs.counted(dispatch.CauseRetired); got != [2]int{1, 1} {
		t.Errorf("observed moved, at risk = %v, want [1 1]", got)
	}
	e.verifyReplanned(t, "a")

	// Retiring again retries what is at risk; nothing more to do.
	if rp, err := e.svc.RetireWorker(t.Context(), "a"); err != nil || *rp != (dispatch.Replanned{AtRisk: 1}) {
		t.Errorf("retire again: %+v, %v; want the one at risk left", rp, err)
	}
	// The owner moves it to b, off the retired worker (refused before).
	moved, err := e.svc.Reschedule(t.Context(), early.ID, tenant, doorstep.Window{Start: at(12, 0), End: at(13, 0)})
	if err != nil {
		t.Fatalf("reschedule off a retired worker: %v", err)
	}
	if moved.WorkerID != "b" || moved.AtRisk != nil {
		t.Errorf("rescheduled to %s (at risk %+v), want b, not at risk", moved.WorkerID, moved.AtRisk)
	}
	if rp, err := e.svc.RetireWorker(t.Context(), "a"); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("retire once all is re-planned: %+v, %v; want not found", rp, err)
	}
	if _, err := e.svc.RetireWorker(t.Context(), "nobody"); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("retire an unknown worker: %v, want not found", err)
	}
	if list, err := e.svc.AtRisk(t.Context(), 10); err != nil || len(list) != 0 {
		t.Errorf("at risk %v, %v; want none", ids(list), err)
	}
	e.verifyReplanned(t, "a")
}

// TestReplanAbsence: a is away 10:30-12:30; its 11:00 job (window
// 11:00-11:30) goes to b at 11:00, its 09:00 and 13:00 jobs stay.
func TestReplanAbsence(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()))
	b1 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(9, 0))
	b2 := e.fixture(t, "a", normal(base, mins(60), at(11, 0), at(11, 30)), at(11, 0))
	b3 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(13, 0))
	e.put(t, worker("b", homeB, dayShift()))

	w, rp, err := e.svc.Absent(t.Context(), "a", doorstep.Window{Start: at(10, 30), End: at(12, 30)})
	if err != nil {
		t.Fatal(err)
	}
	e.workers["a"] = w
	want := []doorstep.Shift{shift(at(8, 0), at(10, 30)), shift(at(12, 30), at(18, 0))}
	if diff := cmp.Diff(w.Shifts, want); diff != "" {
		t.Errorf("shifts (-got +want):\n%s", diff)
	}
	if stored, err := e.svc.Worker(t.Context(), "a"); err != nil || !cmp.Equal(stored.Shifts, want) {
		t.Errorf("stored shifts %v, %v", stored, err)
	}
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	e.wantBooking(t, b1.ID, "a", at(9, 0), "", 1)
	e.wantBooking(t, b2.ID, "b", at(11, 0), "", 2)
	e.wantBooking(t, b3.ID, "a", at(13, 0), "", 1)
	if got := e.obs.counted(dispatch.CauseAbsence); got != [2]int{1, 0} {
		t.Errorf("observed moved, at risk = %v, want [1 0]", got)
	}
	e.verifyReplanned(t)

	for _, bad := range []doorstep.Window{{Start: at(12, 0), End: at(11, 0)}, {Start: at(11, 0), End: at(11, 0)}} {
		if _, _, err := e.svc.Absent(t.Context(), "a", bad); doorstep.ErrorCode(err) != doorstep.EINVALID {
			t.Errorf("absence %v: %v, want invalid", bad, err)
		}
	}
	if _, _, err := e.svc.Absent(t.Context(), "nobody", doorstep.Window{Start: at(11, 0), End: at(12, 0)}); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("absence of an unknown worker: %v, want not found", err)
	}
}

// TestReplanOverrun: a's 09:00-10:00 job runs until 10:40. Its 10:00-11:00
// job (window 10:00-12:00) shifts to 10:40 (same place, no travel), and its
// 11:00-12:00 job to 11:40 (no window: later than told, inside 24 h). Its
// 12:00 job (window 12:00-12:10) cannot shift to 12:40: it goes to b at
// 12:00, or is at risk when there is no b.
func TestReplanOverrun(t *testing.T) {
	for _, withB := range []bool{true, false} {
		name := map[bool]string{true: "another worker", false: "alone"}[withB]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, at(8, 0), nil)
			e.put(t, worker("a", base, dayShift()))
			j1 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(9, 0))
			j2 := e.fixture(t, "a", normal(base, mins(60), at(10, 0), at(12, 0)), at(10, 0))
			j3 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(11, 0))
			j3w := e.fixture(t, "a", normal(base, mins(60), at(12, 0), at(12, 10)), at(12, 0))
			j4 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(16, 0))
			for i, j := range []*doorstep.Booking{j1, j2, j3, j3w, j4} {
				if want := []time.Time{at(9, 0), at(10, 0), at(11, 0), at(12, 0), at(16, 0)}[i]; j.WorkerID != "a" || !j.Start.Equal(want) {
					t.Fatalf("fixture: job %d on %s at %s", i, j.WorkerID, j.Start)
				}
			}
			if withB {
				e.put(t, worker("b", homeB, dayShift()))
			}
			e.clk.Set(at(9, 30))
			if _, _, err := e.svc.Overrun(t.Context(), j2.ID, at(11, 30)); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
				t.Errorf("overrun of a job not under way: %v, want conflict", err)
			}
			if _, _, err := e.svc.Overrun(t.Context(), j1.ID, at(9, 50)); doorstep.ErrorCode(err) != doorstep.EINVALID {
				t.Errorf("an overrun that ends earlier: %v, want invalid", err)
			}
			got, rp, err := e.svc.Overrun(t.Context(), j1.ID, at(10, 40))
			if err != nil {
				t.Fatal(err)
			}
			if !got.End.Equal(at(10, 40)) || got.LastChange.Reason != doorstep.ChangeOverrun || got.Version != 2 {
				t.Errorf("overrun booking %v (%+v, version %d)", got, got.LastChange, got.Version)
			}
			if b := e.get(t, j1.ID); !b.End.Equal(at(10, 40)) || b.AtRisk != nil {
				t.Errorf("stored overrun booking ends %s (at risk %+v)", b.End, b.AtRisk)
			}
			e.wantBooking(t, j2.ID, "a", at(10, 40), "", 2)
			e.wantBooking(t, j3.ID, "a", at(11, 40), "", 2)
			e.wantBooking(t, j4.ID, "a", at(16, 0), "", 1)
			want := dispatch.Replanned{Moved: 3}
			if withB {
				e.wantBooking(t, j3w.ID, "b", at(12, 0), "", 2)
			} else {
				e.wantBooking(t, j3w.ID, "a", at(12, 0), matcher.DisplacedOverrun, 2)
				want = dispatch.Replanned{Moved: 2, AtRisk: 1}
			}
			if diff := cmp.Diff(rp, &want); diff != "" {
				t.Errorf("replanned (-got +want):\n%s", diff)
			}
			if got := e.obs.counted(dispatch.CauseOverrun); got != [2]int{want.Moved, want.AtRisk} {
				t.Errorf("observed %v, want %v", got, want)
			}
			// The overrunning stop is kept; the rest of a's day fits.
			var rest []*doorstep.Booking
			for _, b := range e.timeline(t, "a") {
				if b.ID != j1.ID && b.AtRisk == nil {
					rest = append(rest, b)
				}
			}
			tl := schedule.TimelineOf(rest)
			if err := schedule.Verify(e.workers["a"], tl, geo.Linear{}); err != nil {
				t.Error(err)
			}
			if len(tl) > 0 && tl[0].Start.Before(at(10, 40)) {
				t.Errorf("a's next job starts %s, before the overrun ends", tl[0].Start)
			}
		})
	}
}

// racingStore books a request through svc just before the first re-plan
// step reaches the store, so that the step meets a timeline it did not
// read.
type racingStore struct {
	*store.Store
	once   atomic.Bool
	before func()
}

func (r *racingStore) Apply(ctx context.Context, ch store.Change) error {
	if ch.Reason == doorstep.ChangeReplan && r.once.CompareAndSwap(false, true) {
		r.before()
	}
	return r.Store.Apply(ctx, ch)
}

// TestReplanRace: a's shift is cut; its 14:00 job is to go to b, but a
// booking for 14:00 near b lands on b first. The re-plan loses its step,
// reads again and sends the job to c: nothing lost, nothing doubled.
func TestReplanRace(t *testing.T) {
	rs := &racingStore{}
	e := newEnv(t, at(8, 0), func(c *dispatch.Config) {
		rs.Store = c.Store.(*store.Store)
		c.Store = rs
	})
	e.put(t, worker("a", base, dayShift()))
	job := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(14, 0))
	e.put(t, worker("b", homeB, dayShift()), worker("c", homeC, dayShift()))
	var racer *doorstep.Booking
	rs.before = func() {
		racer = e.book(t, normal(homeB, mins(60), at(14, 0), at(14, 5))).Booking
	}
	cut := worker("a", base, []doorstep.Shift{shift(at(8, 0), at(12, 0))})
	_, rp, err := e.svc.PutWorker(t.Context(), cut)
	if err != nil {
		t.Fatal(err)
	}
	e.workers["a"] = cut
	if racer == nil || racer.WorkerID != "b" {
		t.Fatalf("the racing booking %v did not land on b", racer)
	}
	if e.obs.conflicts.Load() == 0 {
		t.Error("the re-plan met no conflict: the race did not happen")
	}
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	e.wantBooking(t, job.ID, "c", at(14, 0), "", 2)
	e.wantBooking(t, racer.ID, "b", at(14, 0), "", 1)
	all := append(append(e.timeline(t, "a"), e.timeline(t, "b")...), e.timeline(t, "c")...)
	if got := ids(all); len(got) != 2 || !slices.Contains(got, job.ID) || !slices.Contains(got, racer.ID) {
		t.Errorf("timelines hold %v, want %s and %s once each", got, job.ID, racer.ID)
	}
	e.verifyReplanned(t)
}

// TestReplanConcurrent: clients book while a's shifts are cut and given
// back again and again. Whatever the interleaving, every booking answered
// is confirmed exactly once in one timeline, and every timeline without
// its bookings at risk passes schedule.Verify.
func TestReplanConcurrent(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	full := worker("a", base, dayShift())
	e.put(t, full, worker("b", homeB, dayShift()), worker("c", homeC, dayShift()))
	cut := worker("a", base, []doorstep.Shift{shift(at(8, 0), at(11, 0))})
	var (
		mu     sync.Mutex
		booked []string
		wg     sync.WaitGroup
	)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				from := at(9+(g*8+i)%8, 0)
				b, err := e.svc.Book(t.Context(), normal(offset(base, 0, float64(g)), mins(45), from, from.Add(mins(90))), tenant)
				if err != nil {
					if c := doorstep.ErrorCode(err); c != doorstep.EUNSERVABLE && c != doorstep.ECONFLICT {
						t.Errorf("Book: %v", err)
					}
					continue
				}
				mu.Lock()
				booked = append(booked, b.Booking.ID)
				mu.Unlock()
			}
		}()
	}
	for i := range 6 {
		p := cut
		if i%2 == 1 {
			p = full
		}
		if _, _, err := e.svc.PutWorker(t.Context(), p); err != nil && doorstep.ErrorCode(err) != doorstep.ECONFLICT {
			t.Errorf("PutWorker: %v", err)
		}
	}
	wg.Wait()
	// Settle on the cut profile: a PUT that lost every race is repeated.
	if _, _, err := e.svc.PutWorker(t.Context(), cut); err != nil {
		t.Fatalf("PutWorker: %v", err)
	}
	e.workers["a"] = cut
	seen := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		for _, b := range e.timeline(t, id) {
			if other, dup := seen[b.ID]; dup {
				t.Errorf("booking %s in the timelines of %s and %s", b.ID, other, id)
			}
			seen[b.ID] = id
		}
	}
	for _, id := range booked {
		if seen[id] == "" {
			t.Errorf("booking %s answered but in no timeline", id)
		}
	}
	if len(seen) != len(booked) {
		t.Errorf("%d bookings in the timelines, %d answered", len(seen), len(booked))
	}
	e.verifyReplanned(t)
	t.Logf("%d booked; re-planned (moved, at risk): %v", len(booked), e.obs.counted(dispatch.CauseProfile))
}
